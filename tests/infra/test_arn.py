"""ARNs parsed and formatted by infra.arn, against AWS's own examples and as a property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.arn import Arn, ArnError, known_region

# Examples from AWS documentation, verbatim.
AWS_EXAMPLES = {
    # IAM User Guide, "IAM identifiers": a user (no region).
    "arn:aws:iam::123456789012:user/johndoe": ("aws", "iam", "", "123456789012", "user/johndoe"),
    # DynamoDB Streams API Reference, DescribeStream: a stream label is a timestamp with colons.
    "arn:aws:dynamodb:us-west-2:111122223333:table/TestTable/stream/2015-05-11T21:21:33.291": (
        "aws",
        "dynamodb",
        "us-west-2",
        "111122223333",
        "table/TestTable/stream/2015-05-11T21:21:33.291",
    ),
    # CloudFormation User Guide, AWS::Logs::LogGroup, Fn::GetAtt Arn.
    "arn:aws:logs:us-west-1:123456789012:log-group:/mystack-testgroup-12ABC1AB12A1:*": (
        "aws",
        "logs",
        "us-west-1",
        "123456789012",
        "log-group:/mystack-testgroup-12ABC1AB12A1:*",
    ),
}

# What infra/chalice_deploy.py used to write (issue 10): the table ARN split one field off.
BROKEN = "arn:aws:logs:123456789012:table/Users:log-group:/aws/lambda/users-stream-dev-x:*"


@pytest.mark.parametrize(("text", "fields"), AWS_EXAMPLES.items())
def test_aws_examples_parse_into_their_fields_and_format_back(text, fields):
    arn = Arn.parse(text)
    assert (arn.partition, arn.service, arn.region, arn.account, arn.resource) == fields
    assert str(arn) == text


def test_regional_examples_have_no_problems():
    assert Arn.parse(next(k for k in AWS_EXAMPLES if ":dynamodb:" in k)).problems() == []


def test_the_arn_split_one_field_off_is_reported_by_field():
    problems = Arn.parse(BROKEN).problems()
    assert any("account 'table/Users" in p for p in problems)
    assert any("region '123456789012'" in p for p in problems)


@pytest.mark.parametrize(
    "text",
    ["", "arn", "arn:aws:s3", "urn:aws:s3:::b", "arn::s3:::b", "arn:aws::::x", "arn:aws:s3:::"],
)
def test_malformed_texts_are_refused(text):
    with pytest.raises(ArnError):
        Arn.parse(text)


def test_regions_come_from_botocore_partitions():
    assert known_region("aws", "eu-central-1")
    assert known_region("aws-cn", "cn-north-1")
    assert not known_region("aws", "cn-north-1")
    assert not known_region("aws", "123456789012")
    assert not known_region("nosuch", "us-east-1")


_field = st.text(st.characters(codec="ascii", exclude_characters=":"), min_size=1, max_size=20)


@given(
    partition=_field,
    service=_field,
    region=st.text(st.characters(codec="ascii", exclude_characters=":"), max_size=12),
    account=st.text(st.characters(codec="ascii", exclude_characters=":"), max_size=12),
    resource=st.text(st.characters(codec="ascii"), min_size=1, max_size=40),
)
def test_format_then_parse_gives_the_same_fields(partition, service, region, account, resource):
    arn = Arn(partition, service, region, account, resource)
    assert Arn.parse(str(arn)) == arn


def test_sibling_keeps_partition_region_and_account():
    table = Arn.parse("arn:aws-cn:dynamodb:cn-north-1:111122223333:table/Users")
    assert str(table.sibling("logs", "log-group:/x:*")) == (
        "arn:aws-cn:logs:cn-north-1:111122223333:log-group:/x:*"
    )
