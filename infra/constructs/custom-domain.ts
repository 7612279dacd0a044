import { Duration } from "aws-cdk-lib";
import { Certificate } from "aws-cdk-lib/aws-certificatemanager";
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HttpVersion,
  OriginRequestPolicy,
  ViewerProtocolPolicy,
} from "aws-cdk-lib/aws-cloudfront";
import { FunctionUrlOrigin } from "aws-cdk-lib/aws-cloudfront-origins";
import type { FunctionUrl } from "aws-cdk-lib/aws-lambda";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { ORIGIN_SECRET_HEADER } from "../../shared/config/resources";

/**
 * A domain of your own in front of the function URL: CloudFront with caching off, every
 * method, and every viewer header, cookie and query string passed on (but Host, which the
 * function URL must see as its own), so requests, streams and the console work as they do on
 * the function URL itself. Point the domain's DNS at `distribution.domainName`.
 *
 * The managed AllViewerExceptHostHeader policy also passes CloudFront's own headers, among
 * them CloudFront-Viewer-Address (the viewer's address: sign-ins are counted by it), and
 * every request carries a secret the function checks before it believes that header: only
 * this distribution knows it, and CloudFront overwrites a viewer's header of the same name.
 */
export class CustomDomain extends Construct {
  readonly distribution: Distribution;
  /** Sent by the distribution in ORIGIN_SECRET_HEADER; the API function gets it as a setting. */
  readonly originSecret: Secret;

  constructor(
    scope: Construct,
    id: string,
    props: { url: FunctionUrl; domainName: string; certificateArn: string },
  ) {
    super(scope, id);
    this.originSecret = new Secret(this, "OriginSecret", {
      description: "sluice: proves to the API function that a request came through CloudFront",
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    this.distribution = new Distribution(this, "Distribution", {
      comment: "sluice",
      domainNames: [props.domainName],
      certificate: Certificate.fromCertificateArn(this, "Certificate", props.certificateArn),
      httpVersion: HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: new FunctionUrlOrigin(props.url, {
          // CloudFront waits this long for each chunk of a stream (the most it allows without a
          // quota increase; 30 s by default).
          readTimeout: Duration.seconds(60),
          customHeaders: { [ORIGIN_SECRET_HEADER]: this.originSecret.secretValue.unsafeUnwrap() },
        }),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_ALL,
        cachePolicy: CachePolicy.CACHING_DISABLED,
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        compress: false,
      },
    });
  }
}
