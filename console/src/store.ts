import { useEffect, useState } from "preact/hooks";

/** A value that components follow: they render again whenever it is set. */
export interface Store<T> {
  get(): T;
  set(value: T): void;
  use(): T;
}

export function store<T>(initial: T): Store<T> {
  let value = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => value,
    set(next) {
      value = next;
      for (const listener of listeners) listener();
    },
    use() {
      const [, render] = useState(0);
      useEffect(() => {
        const listener = () => render((n) => n + 1);
        listeners.add(listener);
        return () => {
          listeners.delete(listener);
        };
      }, []);
      return value;
    },
  };
}
