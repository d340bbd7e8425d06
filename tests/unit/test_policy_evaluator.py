"""The IAM evaluator the policy conformance test relies on, checked case by case against the IAM
User Guide: condition operators and their absent-key rules, wildcards, principals, and the
single-account decision (explicit Deny wins; an Allow from either policy suffices; a KMS key
needs its key policy to delegate; a service principal needs the resource policy)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.policy.conditions import UnsupportedCondition, arn_like, condition_holds, glob
from tests.policy.evaluate import Policy, Principal, Request, decide

pytestmark = pytest.mark.unit

SSE = "s3:x-amz-server-side-encryption"
ROLE = Principal("AWS", "arn:aws:iam::111122223333:role/worker")
SNS = Principal("Service", "sns.amazonaws.com")
QUEUE = "arn:aws:sqs:eu-west-1:111122223333:work"
TOPIC = "arn:aws:sns:eu-west-1:111122223333:uploads"
KEY = "arn:aws:kms:eu-west-1:111122223333:key/k1"


@pytest.mark.parametrize(
    ("operator", "values", "context", "holds"),
    [
        # absent key: positive operators are false, negated ones true (the Deny applies)
        ("StringEquals", ["aws:kms"], {}, False),
        ("StringNotEquals", ["aws:kms"], {}, True),
        ("StringNotLike", ["aws:*"], {}, True),
        ("ArnNotEquals", [TOPIC], {}, True),
        ("Bool", ["false"], {}, False),
        # ...IfExists: true when the key is absent, otherwise the operator decides
        ("StringEqualsIfExists", ["aws:kms"], {}, True),
        ("StringNotEqualsIfExists", ["aws:kms"], {}, True),
        ("StringNotEqualsIfExists", ["aws:kms"], {SSE: "aws:kms"}, False),
        ("StringNotEqualsIfExists", ["aws:kms"], {SSE: "AES256"}, True),
        ("BoolIfExists", ["false"], {}, True),
        # Null tests presence alone
        ("Null", ["true"], {}, True),
        ("Null", ["true"], {SSE: "AES256"}, False),
        ("Null", ["false"], {}, False),
        ("Null", ["false"], {SSE: "AES256"}, True),
        # present key: values OR'ed; a negated operator's values NOR'ed
        ("StringEquals", ["AES256", "aws:kms"], {SSE: "aws:kms"}, True),
        ("StringNotEquals", ["AES256", "aws:kms"], {SSE: "aws:kms"}, False),
        ("StringNotEquals", ["AES256", "aws:kms"], {SSE: "aws:kms:dsse"}, True),
        # case: values are case-sensitive unless IgnoreCase; Bool reads true/false in any case
        ("StringEquals", ["aws:kms"], {SSE: "AWS:KMS"}, False),
        ("StringEqualsIgnoreCase", ["aws:kms"], {SSE: "AWS:KMS"}, True),
        ("Bool", ["false"], {SSE: "FALSE"}, True),
        ("StringLike", ["aws:*"], {SSE: "aws:kms"}, True),
    ],
)
def test_condition_operators_follow_the_iam_rules(
    operator: str, values: list[str], context: dict[str, str], holds: bool
) -> None:
    assert condition_holds(operator, SSE, values, context) is holds


def test_condition_keys_are_case_insensitive_and_values_are_not() -> None:
    assert condition_holds("StringEquals", "AWS:SourceAccount", ["1"], {"aws:sourceaccount": "1"})
    assert not condition_holds("StringEquals", "aws:SourceAccount", ["a"], {"aws:SourceAccount": "A"})


@pytest.mark.parametrize(
    "operator", ["ForAnyValue:StringEquals", "NumericLessThan", "IpAddress", "DateEquals"]
)
def test_operators_not_modelled_are_refused_rather_than_guessed(operator: str) -> None:
    with pytest.raises(UnsupportedCondition):
        condition_holds(operator, "k", ["v"], {"k": "v"})


def test_arn_operators_compare_the_six_parts_one_by_one() -> None:
    assert arn_like(TOPIC, TOPIC)
    assert arn_like("arn:aws:sns:*:111122223333:*", TOPIC)
    assert not arn_like("arn:aws:sns:*:999999999999:*", TOPIC)
    assert not arn_like("arn:aws:sns:eu-west-1:111122223333", TOPIC)  # five parts match no ARN
    assert condition_holds("ArnEquals", "aws:SourceArn", [TOPIC], {"aws:SourceArn": TOPIC})
    assert not condition_holds(
        "ArnLike", "aws:SourceArn", ["arn:aws:sns:*:*:other"], {"aws:SourceArn": TOPIC}
    )


def test_wildcards_are_star_and_question_mark_only() -> None:
    assert glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/uploads/u/x.jpg")
    assert not glob("arn:aws:s3:::b/*", "arn:aws:s3:::b")
    assert glob("kms:ReEncrypt*", "kms:ReEncryptFrom") and glob("s3:?etObject", "s3:GetObject")
    assert not glob("s3:Get[O]bject", "s3:GetObject")  # brackets are literal in IAM
    assert glob("s3:putobject", "s3:PutObject", ignore_case=True)


def policy(*statements: dict[str, Any]) -> Policy:
    return Policy("test-policy", {"Version": "2012-10-17", "Statement": list(statements)})


DENY_UNENCRYPTED = {
    "Sid": "DenyUnencryptedUploads",
    "Effect": "Deny",
    "Principal": "*",
    "Action": ["s3:PutObject"],
    "Resource": ["arn:aws:s3:::in/*"],
    "Condition": {"StringNotEquals": {SSE: ["aws:kms"]}},
}
ALLOW_PUT = {"Sid": "Put", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}


def put(context: dict[str, str]) -> Request:
    return Request(ROLE, "s3:PutObject", "arn:aws:s3:::in/uploads/u/x.jpg", context)


def test_an_upload_without_the_encryption_header_meets_the_deny_even_when_iam_allows() -> None:
    # Given a bucket policy denying PutObject unless SSE is aws:kms, and a caller IAM allows
    bucket, identity = policy(DENY_UNENCRYPTED), [policy(ALLOW_PUT)]
    # When the request has no header (bucket default encryption does not set the key), then SSE-S3, then KMS
    missing, sse_s3, kms = (decide(put(c), bucket, identity) for c in ({}, {SSE: "AES256"}, {SSE: "aws:kms"}))
    # Then the first two are refused by that statement, and only the KMS one goes through
    assert (missing.allowed, missing.sid, missing.policy) == (False, "DenyUnencryptedUploads", "test-policy")
    assert (sse_s3.allowed, sse_s3.sid) == (False, "DenyUnencryptedUploads")
    assert kms.allowed and kms.sid == "Put"


def test_if_exists_does_not_spare_a_request_without_the_key_from_a_negated_deny() -> None:
    # Given the Deny written with StringNotEqualsIfExists instead
    if_exists = {**DENY_UNENCRYPTED, "Condition": {"StringNotEqualsIfExists": {SSE: ["aws:kms"]}}}
    bucket, identity = policy(if_exists), [policy(ALLOW_PUT)]
    # Then a request without the header is still denied (IAM User Guide, "...IfExists condition
    # operators"), a wrong header too, and only aws:kms passes
    assert decide(put({}), bucket, identity).sid == "DenyUnencryptedUploads"
    assert not decide(put({SSE: "AES256"}), bucket, identity).allowed
    assert decide(put({SSE: "aws:kms"}), bucket, identity).allowed


def test_actions_resources_and_their_negations_with_wildcards() -> None:
    not_action = {"Effect": "Deny", "Principal": "*", "NotAction": "s3:Get*", "Resource": "*"}
    not_resource = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "NotResource": "arn:aws:s3:::in/uploads/*",
    }
    assert not decide(put({SSE: "aws:kms"}), policy(not_action), [policy(ALLOW_PUT)]).allowed
    assert decide(put({SSE: "aws:kms"}), policy(not_resource), [policy(ALLOW_PUT)]).allowed
    elsewhere = Request(ROLE, "s3:PutObject", "arn:aws:s3:::in/other/x.jpg")
    assert not decide(elsewhere, policy(not_resource), [policy(ALLOW_PUT)]).allowed


def send_from(source: str) -> Request:
    return Request(SNS, "sqs:SendMessage", QUEUE, {"aws:SourceArn": source})


QUEUE_POLICY = policy(
    {
        "Sid": "OnlyTheTopic",
        "Effect": "Allow",
        "Principal": {"Service": ["sns.amazonaws.com"]},
        "Action": ["sqs:SendMessage"],
        "Resource": [QUEUE],
        "Condition": {"ArnEquals": {"aws:SourceArn": [TOPIC]}},
    }
)


def test_a_service_is_let_in_only_by_the_resource_policy_and_its_conditions() -> None:
    assert decide(send_from(TOPIC), QUEUE_POLICY).allowed
    refused = decide(send_from(TOPIC.replace("uploads", "other")), QUEUE_POLICY)
    assert not refused.allowed and refused.policy is None  # implicit: nothing allows it
    assert not decide(Request(SNS, "sqs:SendMessage", QUEUE), QUEUE_POLICY).allowed  # no SourceArn at all
    # and an IAM principal in the account is not the service, whatever the conditions
    assert not decide(Request(ROLE, "sqs:SendMessage", QUEUE, {"aws:SourceArn": TOPIC}), QUEUE_POLICY).allowed


def test_in_one_account_an_allow_from_either_policy_suffices_and_a_deny_from_either_wins() -> None:
    receive = Request(ROLE, "sqs:ReceiveMessage", QUEUE)
    allow_role = {"Effect": "Allow", "Principal": {"AWS": [ROLE.name]}, "Action": "sqs:*", "Resource": QUEUE}
    assert decide(receive, policy(allow_role)).allowed
    assert decide(
        receive, None, [policy({"Effect": "Allow", "Action": "sqs:Receive*", "Resource": QUEUE})]
    ).allowed
    assert not decide(receive, None, []).allowed
    deny = {"Sid": "No", "Effect": "Deny", "Action": "sqs:*", "Resource": "*"}
    assert decide(receive, policy(allow_role), [policy(deny)]).sid == "No"


def test_a_key_policy_must_delegate_before_iam_policies_count() -> None:
    use = Request(ROLE, "kms:Decrypt", KEY)
    iam = [policy({"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": KEY})]
    root = {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    services_only = {
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "kms:*",
        "Resource": "*",
    }
    assert decide(use, policy(root), iam).allowed
    assert not decide(use, policy(root), []).allowed  # delegation grants nothing by itself
    assert not decide(use, policy(services_only), iam).reason.startswith("identity")
    assert not decide(use, policy(services_only), iam).allowed


def test_an_operator_whose_iam_policy_is_not_in_the_terraform_still_meets_denies() -> None:
    assert decide(put({SSE: "aws:kms"}), policy(DENY_UNENCRYPTED), identity_assumed=True).allowed
    assert not decide(put({}), policy(DENY_UNENCRYPTED), identity_assumed=True).allowed
    assert not decide(send_from(TOPIC), None, identity_assumed=True).allowed  # a service has no IAM policy
