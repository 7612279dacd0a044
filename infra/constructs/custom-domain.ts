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
import { Construct } from "constructs";

/**
 * A domain of your own in front of the function URL: CloudFront with caching off, every
 * method, and every viewer header, cookie and query string passed on (but Host, which the
 * function URL must see as its own), so requests, streams and the console work as they do on
 * the function URL itself. Point the domain's DNS at `distribution.domainName`.
 */
export class CustomDomain extends Construct {
  readonly distribution: Distribution;

  constructor(
    scope: Construct,
    id: string,
    props: { url: FunctionUrl; domainName: string; certificateArn: string },
  ) {
    super(scope, id);
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
