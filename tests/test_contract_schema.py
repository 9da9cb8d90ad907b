"""The contract schema (core/contract_schema.py): every shipped contract fits it, and a contract
with a misspelt key, a value out of its list or a value of the wrong type is refused with a
message naming the file, the key's path and, where one is close, the key or value meant.

Each bad contract is a copy of a shipped one in tmp_path with one edit.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from core.contract_schema import SQL_TYPES, ColumnType, ContractFile, schema_keys, validate_contract
from core.contracts import CONTRACTS_DIR, all_contracts, load_contract

SHIPPED = sorted(CONTRACTS_DIR.glob("*.yml"))


def edited(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of the shipped contract ``name`` with the one occurrence of ``old`` made ``new``."""
    text = (CONTRACTS_DIR / name).read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {name}"
    copy = tmp_path / name
    copy.write_text(text.replace(old, new), encoding="utf-8")
    return copy


def refusal(path: Path) -> str:
    """The message load_contract refuses ``path`` with."""
    with pytest.raises(ValueError) as refused:
        load_contract(path)
    return str(refused.value)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_contract_fits_the_schema(path: Path) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(validate_contract(raw, path), ContractFile)
    assert load_contract(path).feed == raw["feed"]


def test_all_contracts_load() -> None:
    assert len(all_contracts()) == len(SHIPPED) == 6


def test_feed_specific_keys_stay_in_extra() -> None:
    contracts = all_contracts()
    senders = {"file": "dbt_project/seeds/police_forces.csv", "column": "force"}
    assert contracts["police_uk"].extra == {"senders": senders, "archives": "zip"}
    assert contracts["police_crime"].extra == {"senders": senders}
    assert contracts["partner_returns"].partners == ("probation", "iom", "gangs", "courts", "yot")
    assert contracts["rny_treatment"].extra == {}


def test_misspelt_column_key_names_file_path_and_key_meant(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        "police_crime.yml",
        "{source: HO Class, name: ho_class, type: text, required: true,",
        "{source: HO Class, name: ho_class, type: text, requried: true,",
    )
    message = refusal(path)
    assert message.startswith("police_crime.yml: ")
    assert "tables[0].columns[3].requried: unknown key; did you mean 'required'?" in message


def test_misspelt_table_key(tmp_path: Path) -> None:
    path = edited(tmp_path, "idva_caseload.yml", "sheet: Screening", "sheat: Screening")
    message = refusal(path)
    assert message.startswith("idva_caseload.yml: ")
    assert "tables[1].sheat: unknown key; did you mean 'sheet'?" in message


def test_misspelt_top_level_key(tmp_path: Path) -> None:
    path = edited(tmp_path, "rny_treatment.yml", "cadence: monthly", "cadance: monthly")
    message = refusal(path)
    assert message.startswith("rny_treatment.yml: ")
    assert "cadance: unknown key; did you mean 'cadence'?" in message
    # The key meant is then missing, and said so.
    assert "cadence: missing" in message


def test_misspelt_key_of_a_feed_specific_mapping(tmp_path: Path) -> None:
    path = edited(tmp_path, "police_crime.yml", "column: force}", "colum: force}")
    message = refusal(path)
    assert "senders.colum: unknown key; did you mean 'column'?" in message
    assert "senders.column: missing" in message


def test_misspelt_feed_specific_key(tmp_path: Path) -> None:
    path = edited(tmp_path, "police_uk.yml", "archives: zip", "archive: zip")
    assert "archive: unknown key; did you mean 'archives'?" in refusal(path)


@pytest.mark.parametrize(
    ("name", "old", "new", "where", "allowed"),
    [
        (
            "rny_treatment.yml",
            "name: client_token, type: text, required: true, pii: pseudonymise",
            "name: client_token, type: text, required: true, pii: pseudonymize",
            "tables[0].columns[0].pii",
            "'pseudonymise', 'age_band', 'drop'",
        ),
        ("moj_reoffending.yml", "format: csv", "format: xls", "format", "'csv', 'xlsx'"),
        (
            "moj_reoffending.yml",
            "cadence: quarterly",
            "cadence: annual",
            "cadence",
            "'monthly', 'quarterly'",
        ),
        (
            "police_crime.yml",
            "byte_order_mark: required",
            "byte_order_mark: optional",
            "byte_order_mark",
            "'required', 'forbidden'",
        ),
        (
            "police_crime.yml",
            "name: sector, type: text",
            "name: sector, type: string",
            "tables[0].columns[13].type",
            ", ".join(repr(t) for t in SQL_TYPES),
        ),
        ("moj_reoffending.yml", "footer: notes", "footer: note", "tables[0].footer", "'notes'"),
        (
            "idva_caseload.yml",
            "pseudonym_domain: domestic_abuse",
            "pseudonym_domain: idva",
            "pseudonym_domain",
            "'domestic_abuse', 'treatment', 'offenders'",
        ),
    ],
)
def test_value_out_of_its_list_names_the_allowed_values(
    tmp_path: Path, name: str, old: str, new: str, where: str, allowed: str
) -> None:
    message = refusal(edited(tmp_path, name, old, new))
    assert message.startswith(f"{name}: ")
    assert f"{where}: " in message and f"is not one of {allowed}" in message


def test_near_value_is_suggested(tmp_path: Path) -> None:
    path = edited(tmp_path, "rny_treatment.yml", "pii: drop}", "pii: dropped}")
    assert "did you mean 'drop'?" in refusal(path)


@pytest.mark.parametrize(
    ("name", "old", "new", "where", "says"),
    [
        # "3" is not 3: a quoted number is text.
        (
            "idva_caseload.yml",
            "header_row: 3",
            "header_row: '3'",
            "tables[0].header_row",
            "should be a valid integer (got '3')",
        ),
        # bool("false") is True: a quoted boolean would have made the column required.
        (
            "police_crime.yml",
            "name: knife_flag, type: flag, required: true",
            "name: knife_flag, type: flag, required: 'false'",
            "tables[0].columns[7].required",
            "should be a valid boolean (got 'false')",
        ),
        (
            "idva_caseload.yml",
            "type: integer, min: 0, max: 27",
            "type: integer, min: 0, max: lots",
            "tables[0].columns[4].max",
            "should be a number, not 'lots'",
        ),
        (
            "moj_reoffending.yml",
            "due_days_after_period_end: 150",
            "due_days_after_period_end: 5.5",
            "due_days_after_period_end",
            "should be a valid integer",
        ),
        (
            "partner_returns.yml",
            "partners: [probation, iom, gangs, courts, yot]",
            "partners: probation",
            "partners",
            "should be a valid list",
        ),
        # An unquoted Yes in a YAML list is the boolean True.
        (
            "idva_caseload.yml",
            'allowed: ["Yes", "No", "Unknown"]',
            "allowed: [Yes, No, Unknown]",
            "tables[0].columns[8].allowed[0]",
            "quote Yes, No, true and false",
        ),
        (
            "police_crime.yml",
            "period_majority: 0.5",
            "period_majority: 50",
            "tables[0].period_majority",
            "less than or equal to 1",
        ),
        (
            "rny_treatment.yml",
            "encoding: cp1252",
            "encoding: cp-1252x",
            "encoding",
            "not an encoding Python knows",
        ),
    ],
)
def test_value_of_the_wrong_type_is_refused(
    tmp_path: Path, name: str, old: str, new: str, where: str, says: str
) -> None:
    message = refusal(edited(tmp_path, name, old, new))
    assert message.startswith(f"{name}: ")
    assert re.search(rf"^  {re.escape(where)}: .*{re.escape(says)}", message, re.MULTILINE)


def test_missing_required_key(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        "police_crime.yml",
        "{source: Ward, name: ward, type: text}",
        "{source: Ward, type: text}",
    )
    assert "tables[0].columns[12].name: missing" in refusal(path)


def test_every_problem_is_listed(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        "moj_reoffending.yml",
        "header_row: 4\n    footer: notes",
        "heder_row: 4\n    footer: note",
    )
    message = refusal(path)
    assert "(2 problem(s))" in message
    assert "tables[0].heder_row: unknown key" in message and "tables[0].footer: " in message


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    assert refusal(path).endswith("the file: should be a mapping of keys (key: value), not None")


def _keys(raw: Any, kind: str, found: dict[str, set[str]]) -> None:
    """Every key used in a contract, per kind of mapping, as schema_keys names them."""
    found.setdefault(kind, set()).update(raw)
    nested = {
        "tables": "table",
        "columns": "column",
        "reference": "reference",
        "senders": "reference",
        "catalogue": "catalogue",
    }
    for key, value in raw.items():
        if key in nested:
            for item in value if isinstance(value, list) else [value]:
                _keys(item, nested[key], found)


def test_schema_declares_every_key_the_contracts_use() -> None:
    used: dict[str, set[str]] = {}
    for path in SHIPPED:
        _keys(yaml.safe_load(path.read_text(encoding="utf-8")), "contract", used)
    declared = schema_keys()
    assert set(used) == set(declared)
    for kind, keys in used.items():
        assert keys <= declared[kind], f"{kind}: {sorted(keys - declared[kind])} not declared"


def test_column_types_are_the_sql_types() -> None:
    assert set(get_args(ColumnType)) == set(SQL_TYPES)
