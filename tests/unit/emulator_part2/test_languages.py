"""Pure parsers and evaluators: search criteria, COQL, bulk criteria, channel items."""

from __future__ import annotations

import pytest

from zoho_emulator.bulk import BulkError, compile_bulk_criteria
from zoho_emulator.channels import build, max_expiry
from zoho_emulator.coql import Comparison, CoqlError, Junction, comparisons, parse
from zoho_emulator.criteria import Condition, CriteriaError, Group, compile_criteria, count
from zoho_emulator.criteria import parse as parse_criteria
from zoho_emulator.orgs import default_orgs
from zoho_emulator.query import execute
from zoho_emulator.validation import FieldProblem

ORG = default_orgs()["60012345"]
ACCOUNTS = ORG.modules["Accounts"]


def test_criteria_tree_with_escapes_and_datetimes() -> None:
    node = parse_criteria(r"((Account_Name:equals:Burns\, B \(UK\))or"
                          "(Modified_Time:greater_equal:2026-05-01T00:00:00+00:00))")
    assert node == Group("or", (
        Condition("Account_Name", "equals", ("Burns, B (UK)",)),
        Condition("Modified_Time", "greater_equal", ("2026-05-01T00:00:00+00:00",))))
    assert count(node) == 2
    assert parse_criteria("(Employees:in:1,2,3)") == Condition("Employees", "in",
                                                               ("1", "2", "3"))


@pytest.mark.parametrize("text", ["", "Account_Name:equals:x", "(Account_Name:equals:x",
                                  "((A:equals:1)and(B:equals:2)or(C:equals:3))",
                                  "(Account_Name equals x)"])
def test_criteria_refused(text: str) -> None:
    with pytest.raises(CriteriaError):
        parse_criteria(text)


def test_criteria_word_match_and_types() -> None:
    word = compile_criteria(parse_criteria("(Account_Name:equals:abc)"), ACCOUNTS)
    assert word({"Account_Name": "ABC Inc"}) and not word({"Account_Name": "ABCD Inc"})
    with pytest.raises(CriteriaError):
        compile_criteria(parse_criteria("(Active:greater_than:1)"), ACCOUNTS)
    with pytest.raises(CriteriaError):
        compile_criteria(parse_criteria("(Nope:equals:1)"), ACCOUNTS)


def test_coql_parse_shapes() -> None:
    query = parse("select Account_Name, 'Website' from Accounts where "
                  "((Employees between 1 and 5 and Website is not null) or "
                  "Account_Name not in ('a', 'O''Neil')) order by Employees desc, id "
                  "limit 10 offset 20")
    assert query.columns == ["Account_Name", "Website"] and query.module == "Accounts"
    assert isinstance(query.where, Junction) and query.where.operator == "or"
    assert comparisons(query.where)[-1] == Comparison("Account_Name", "not_in",
                                                      ("a", "O'Neil"))
    assert query.order_by == [("Employees", True), ("id", False)]
    assert (query.limit, query.offset) == (10, 20)
    assert parse("select id from Accounts where id is null limit 5, 7").offset == 5


@pytest.mark.parametrize("text", ["select * from Accounts where id is null",
                                  "select a from Accounts where a = 1 and b = 2 or c = 3",
                                  "select a from Accounts where a ~ 1",
                                  "select a from where a = 1",
                                  "select a from Accounts where a = 1 limit x"])
def test_coql_refused(text: str) -> None:
    with pytest.raises(CoqlError):
        parse(text)


def test_coql_execute_against_a_store() -> None:
    org = default_orgs()["60012345"]
    store = org.store("Accounts")
    admin = org.admin.id
    for i, name in enumerate(["b", "a", "c"]):
        store.put(org.ids.next(), {"Account_Name": name, "Employees": i, "Owner": admin})
    result = execute(org, org.admin, parse("select Account_Name, Owner.email from Accounts "
                                           "where Employees >= 1 order by Account_Name"))
    assert [r["Account_Name"] for r in result.rows] == ["a", "c"]
    assert result.rows[0]["Owner.email"] == org.admin.email
    with pytest.raises(CoqlError) as caught:
        execute(org, org.admin, parse("select Account_Name from Accounts where id is not null "
                                      "limit 2001"))
    assert caught.value.code == "LIMIT_EXCEEDED"


def test_bulk_criteria_single_nested_and_empty() -> None:
    match = compile_bulk_criteria({"group_operator": "or", "group": [
        {"field": {"api_name": "Website"}, "comparator": "equal", "value": "${EMPTY}"},
        {"group_operator": "and", "group": [
            {"field": {"api_name": "Employees"}, "comparator": "between", "value": [1, 9]},
            {"field": {"api_name": "Account_Name"}, "comparator": "ends_with",
             "value": "ltd"}]}]}, ACCOUNTS)
    assert match({"Account_Name": "X", "Website": None})
    assert match({"Account_Name": "Acme Ltd", "Website": "w", "Employees": 5})
    assert not match({"Account_Name": "Acme Inc", "Website": "w", "Employees": 5})
    with pytest.raises(BulkError):
        compile_bulk_criteria({"field": {"api_name": "Employees"}, "comparator": "like",
                               "value": 1}, ACCOUNTS)


def test_channel_items() -> None:
    kwargs = {"org_id": "1", "user_id": "u", "modules": {"Accounts", "Contacts"},
              "now": 1_000_000, "version": "v8", "api_base": "http://emu"}
    channel = build({"channel_id": 7, "events": ["Accounts.all", "Contacts.edit"],
                     "notify_url": "http://h/x?a=1&b=2"}, 0, **kwargs)  # type: ignore[arg-type]
    assert channel.channel_id == "7" and channel.expiry == 1_000_000 + 3600
    assert channel.wants("Accounts", "delete") and not channel.wants("Contacts", "insert")
    assert channel.query_params == {"a": "1", "b": "2"}
    assert channel.notify_on_related_action is True
    assert max_expiry("v3") == 86_400 and max_expiry("v8") == 7 * 86_400
    for bad in ({"channel_id": "x", "events": ["Accounts.all"], "notify_url": "http://h"},
                {"channel_id": 1, "events": ["Nope.all"], "notify_url": "http://h"},
                {"channel_id": 1, "events": ["Accounts.all"], "notify_url": "ftp://h"},
                {"channel_id": 1, "events": ["Accounts.all"], "notify_url": "http://h",
                 "token": "t" * 51}):
        with pytest.raises(FieldProblem):
            build(bad, 0, **kwargs)  # type: ignore[arg-type]
