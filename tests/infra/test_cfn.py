"""infra/cfn.py: CloudFormation YAML into plain data, and intrinsic functions resolved."""

from __future__ import annotations

import pytest

from infra.cfn import Resolver, loads_template


def test_short_form_tags_become_long_form_json():
    parsed = loads_template(
        "A: !Ref X\nB: !GetAtt T.StreamArn\nC: !Sub '${X}'\n"
        "D: !If [C, !Ref Y, !Ref AWS::NoValue]\nE: !GetAtt [T, Arn]\nF: !Condition C\n"
    )
    assert parsed == {
        "A": {"Ref": "X"},
        "B": {"Fn::GetAtt": ["T", "StreamArn"]},
        "C": {"Fn::Sub": "${X}"},
        "D": {"Fn::If": ["C", {"Ref": "Y"}, {"Ref": "AWS::NoValue"}]},
        "E": {"Fn::GetAtt": ["T", "Arn"]},
        "F": {"Condition": "C"},
    }


def test_a_template_must_be_a_mapping():
    with pytest.raises(ValueError, match="mapping"):
        loads_template("- a list\n")


RESOLVER = Resolver(
    refs={"AWS::Region": "eu-west-1", "Sender": "a@example.com", "Identity": ""},
    attributes={("Table", "Arn"): "arn:aws:dynamodb:eu-west-1:1:table/T"},
    conditions={"HasIdentity": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Identity"}, ""]}]}},
)


def test_resolves_refs_attributes_and_nested_structures():
    fragment = {
        "Resource": [{"Fn::GetAtt": ["Table", "Arn"]}, {"Fn::Sub": "${Table.Arn}/stream/*"}],
        "Condition": {"StringEquals": {"ses:FromAddress": {"Ref": "Sender"}}},
    }
    assert RESOLVER.resolve(fragment) == {
        "Resource": [
            "arn:aws:dynamodb:eu-west-1:1:table/T",
            "arn:aws:dynamodb:eu-west-1:1:table/T/stream/*",
        ],
        "Condition": {"StringEquals": {"ses:FromAddress": "a@example.com"}},
    }


def test_sub_with_variables_and_if_on_a_condition():
    identity = {
        "Fn::Sub": [
            "arn:aws:ses:${AWS::Region}:1:identity/${Id}",
            {"Id": {"Fn::If": ["HasIdentity", {"Ref": "Identity"}, {"Ref": "Sender"}]}},
        ]
    }
    assert RESOLVER.resolve(identity) == "arn:aws:ses:eu-west-1:1:identity/a@example.com"
    domain = Resolver(
        {**RESOLVER.refs, "Identity": "example.com"}, RESOLVER.attributes, RESOLVER.conditions
    )
    assert domain.resolve(identity) == "arn:aws:ses:eu-west-1:1:identity/example.com"


def test_unknown_names_and_functions_are_errors():
    with pytest.raises(KeyError):
        RESOLVER.resolve({"Ref": "Missing"})
    with pytest.raises(ValueError, match="Fn::Join"):
        RESOLVER.resolve({"Fn::Join": ["", ["a"]]})


def test_sub_keeps_a_variable_whose_value_is_empty():
    resolver = Resolver({"Empty": ""}, {})
    assert resolver.resolve({"Fn::Sub": ["a${X}b", {"X": {"Ref": "Empty"}}]}) == "ab"
