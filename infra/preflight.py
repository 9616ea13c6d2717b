"""Checks that run before a deployment creates anything, each failing with one clear line.

    python -m infra.preflight --sender welcome@example.com [--bucket my-bucket] [--region R]
                              [--stream-arn ARN] [--check-identity] [--ses-identity DOMAIN]

``infra/package.sh deploy`` and ``python -m infra.chalice_deploy deploy`` run these first, so that
a placeholder stream ARN, a malformed sender, a missing bucket or a region mismatch stops the
deployment while nothing exists yet (CloudFormation would otherwise create half a stack, and
``chalice deploy`` a role and a function, before failing). ``--check-identity`` also asks SES
whether the sender (or ``--ses-identity``, its domain) is verified: the function's policy names
that identity, so sending as an unverified one fails every welcome email.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.addresses import is_plain_address
from chalicelib.clients import error_code
from devtools import cli
from infra.arn import Arn, ArnError

__all__ = [
    "PreflightError",
    "check_bucket",
    "check_identity",
    "check_sender",
    "check_stream_arn",
    "main",
    "parser",
]

# The account of the placeholder stream ARN the project ships (chalicelib.settings).
_PLACEHOLDER_ACCOUNT = "000000000000"
_STREAM_RESOURCE = re.compile(r"table/[a-zA-Z0-9_.-]{3,255}/stream/[^/\s]+")
# The buckets S3 reports by a legacy name rather than their region (GetBucketLocation).
_LEGACY_LOCATIONS = {"EU": "eu-west-1", "": "us-east-1"}


class PreflightError(ValueError):
    """A setting that would make the deployment fail or misbehave; the message is one line."""


def check_sender(sender: str) -> str:
    """``sender`` if it is one plain address SES can send from; else :class:`PreflightError`."""
    if not sender.strip():
        raise PreflightError("the sender is empty: set WELCOME_EMAIL_SENDER / --sender")
    if not is_plain_address(sender.strip()):  # the app's own rule, so both agree
        raise PreflightError(
            f"the sender {sender!r} is not one address like welcome@example.com "
            "(SES answers InvalidParameterValue and no welcome email is ever sent)"
        )
    return sender.strip()


def check_stream_arn(text: str, region: str | None = None) -> Arn:
    """``text`` as the ARN of a DynamoDB stream that can exist; else :class:`PreflightError`."""
    try:
        arn = Arn.parse(text)
    except ArnError as exc:
        raise PreflightError(f"the stream ARN is malformed: {exc}") from None
    if arn.service != "dynamodb" or not _STREAM_RESOURCE.fullmatch(arn.resource):
        raise PreflightError(
            f"{text} is not a DynamoDB stream ARN "
            "(arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>)"
        )
    problems = arn.problems()
    if problems:
        raise PreflightError(f"the stream ARN {text} is malformed: {'; '.join(problems)}")
    if arn.account == _PLACEHOLDER_ACCOUNT:
        raise PreflightError(
            f"the stream ARN {text} is a placeholder (account {arn.account}): deploy the table "
            "first and use its StreamArn output"
        )
    if region and arn.region != region:
        raise PreflightError(
            f"the stream is in {arn.region} but the deployment targets {region}: "
            "an event source mapping reads streams of its own region only"
        )
    return arn


def check_bucket(s3: Any, bucket: str, region: str) -> None:
    """The artifact bucket exists, is reachable and lies in ``region``."""
    if not bucket:
        raise PreflightError("no artifact bucket: set S3_BUCKET (aws s3 mb s3://NAME once)")
    try:
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or ""
        location = _LEGACY_LOCATIONS.get(location, location)
    except Exception as exc:
        code = error_code(exc) or type(exc).__name__
        raise PreflightError(
            f"the artifact bucket {bucket} cannot be used ({code}): create it with "
            f"`aws s3 mb s3://{bucket} --region {region}` or name one you own"
        ) from None
    if location != region:
        raise PreflightError(
            f"the artifact bucket {bucket} is in {location} but the stack goes to {region}: "
            "CloudFormation reads the code from a bucket in the stack's own region"
        )


PROG = "python -m infra.preflight"


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m infra.preflight``."""
    parser = cli.parser(PROG, __doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sender", required=True, help="WELCOME_EMAIL_SENDER, the From address")
    parser.add_argument("--bucket", default=None, help="the artifact bucket of `cfn package`")
    parser.add_argument("--stream-arn", default=None, help="a stream ARN the app will read")
    parser.add_argument(
        "--region",
        default=None,
        help="the region deployed to (default: the AWS CLI's: environment, then profile)",
    )
    parser.add_argument(
        "--check-identity",
        action="store_true",
        help="ask SES whether the sender, or --ses-identity, is a verified identity",
    )
    parser.add_argument(
        "--ses-identity", default="", help="the identity the policy names, if not the sender"
    )
    return parser


def check_identity(ses: Any, sender: str, ses_identity: str = "") -> str:
    """The SES identity the function may send as, if SES has verified it."""
    domain = sender.rpartition("@")[2]
    wanted = ses_identity or sender
    found = ses.get_identity_verification_attributes(Identities=[sender, domain, wanted])
    status = {k: v.get("VerificationStatus") for k, v in found["VerificationAttributes"].items()}
    if status.get(wanted) == "Success":
        return wanted
    if not ses_identity and status.get(domain) == "Success":
        raise PreflightError(
            f"SES has verified the domain {domain}, not the address {sender}: the function may "
            f"send as the identity it names, so deploy with SesIdentity={domain}"
        )
    raise PreflightError(
        f"SES has not verified {wanted} ({status.get(wanted) or 'unknown to SES'}): verify it "
        f"first (aws ses verify-email-identity --email-address {sender}, or the domain)"
    )


def _region(given: str | None) -> str:
    if given:
        return given
    import boto3

    region = boto3.session.Session().region_name  # environment, then the profile
    if not region:
        raise PreflightError("no region: set AWS_DEFAULT_REGION, a profile's region, or --region")
    return str(region)


def run(args: argparse.Namespace, client: Callable[[str], Any]) -> list[str]:
    """Every check the arguments ask for; the lines to print on success."""
    done = [f"sender {check_sender(args.sender)}"]
    region = _region(args.region)
    if args.check_identity:
        identity = check_identity(client("ses"), args.sender.strip(), args.ses_identity)
        done.append(f"SES identity {identity} verified")
    if args.stream_arn is not None:
        done.append(f"stream {check_stream_arn(args.stream_arn, region)}")
    if args.bucket is not None:
        check_bucket(client("s3"), args.bucket, region)
        done.append(f"bucket {args.bucket} in {region}")
    return done


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)

    def client(service: str) -> Any:
        import boto3

        return boto3.client(service)  # type: ignore[call-overload]

    try:
        lines = run(args, client)
    except PreflightError as exc:
        raise cli.Failure(str(exc)) from None
    print("preflight ok: " + ", ".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main, prog=PROG))
