import { describe, expect, it } from "vitest";
import { javaMajorVersion } from "../../infra/local/dynamodb-local";

describe("javaMajorVersion", () => {
  it("reads the major version from what `java -version` prints", () => {
    // Verbatim first lines of OpenJDK 8, 11, 17 and 21, and of a build with no minor part.
    expect(javaMajorVersion('openjdk version "1.8.0_392"\nOpenJDK Runtime Environment')).toBe(8);
    expect(javaMajorVersion('openjdk version "11.0.21" 2023-10-17\n')).toBe(11);
    expect(javaMajorVersion('openjdk version "17.0.15" 2025-04-15\n')).toBe(17);
    expect(javaMajorVersion('java version "21.0.2" 2024-01-16 LTS\n')).toBe(21);
    expect(javaMajorVersion('openjdk version "22" 2024-03-19\n')).toBe(22);
  });

  it("finds none in output that is not a version", () => {
    expect(javaMajorVersion("Error: could not find libjava.so")).toBeUndefined();
  });
});
