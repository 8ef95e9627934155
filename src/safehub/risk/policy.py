"""The triage policy's rules as data: the shipped default, the vocabulary of rule codes and the
check that a set of rules is one safehub can apply.

A policy's `rules` is a JSON object with four parts:

- `dash_bands`: per DASH instrument, the yes-count at which the risk is medium and high
  (statutory.md §2.3: 1-9 standard, 10-13 medium, 14+ high). Scores of the 24- and the 27-question
  forms are never compared, so each has its own thresholds. DARA has none: its grade is the
  officer's (§2.4).
- `rag`: an ordered list of rules for red and one for amber. The first level with a matching rule
  wins; green is everything else. Each rule is `{"code": ..., **params}`, the code one of
  RULE_PARAMS below (implemented in rag.py).
- `marac`: the MARAC referral thresholds (§2.3).
- `screening`: how soon a contact must be screened, by its rating.
- `clocks` (optional): the other clocks' lengths in working days (referral decision, strategy
  discussion, ICPC, assessment), and when escalation warns the worker and the manager (the share
  of a clock's time gone, in percent); what it leaves out takes timescales.clocks.CLOCK_DEFAULTS,
  the Working Together timescales.

The rules are checked whole by `policy_rules_validate` before a version is published, so the
rating code can trust them.
"""

from typing import Any

GRADES = ("standard", "medium", "high")
LEVELS = ("red", "amber")
DASH_INSTRUMENTS = {"SAFELIVES_RIC_24": 24, "DASH_2009_27": 27}
MAX_MONTHS = 120

# The vocabulary: each rule code and the parameters it takes, with their kind.
RULE_PARAMS: dict[str, dict[str, str]] = {
    "officer_grade_at_least": {"grade": "grade"},
    "dash_yes_at_least": {"count": "count"},
    "dash_yes_between": {"low": "count", "high": "count"},
    "professional_judgement": {},
    "child_injured": {},
    "child_under_one_and_grade": {"grade": "grade"},
    "child_protection_plan": {},
    "child_present_or_witnessed": {},
    "earlier_notification_within": {"months": "months"},
    "open_case": {},
}

# Version 1, as issue 3 ships it. The 0002 migration holds its own frozen copy: change the policy
# by publishing a new version, never by editing this.
DEFAULT_RULES: dict[str, Any] = {
    "dash_bands": {
        "SAFELIVES_RIC_24": {"medium": 10, "high": 14},
        "DASH_2009_27": {"medium": 10, "high": 14},
    },
    "rag": {
        "red": [
            {"code": "officer_grade_at_least", "grade": "high"},
            {"code": "dash_yes_at_least", "count": 14},
            {"code": "professional_judgement"},
            {"code": "child_injured"},
            {"code": "child_under_one_and_grade", "grade": "medium"},
            {"code": "child_protection_plan"},
        ],
        "amber": [
            {"code": "officer_grade_at_least", "grade": "medium"},
            {"code": "dash_yes_between", "low": 10, "high": 13},
            {"code": "child_present_or_witnessed"},
            {"code": "earlier_notification_within", "months": 12},
            {"code": "open_case"},
        ],
    },
    "marac": {
        "visible_high_risk_yes": 14,
        "escalation_count": 3,
        "escalation_months": 12,
        "repeat_months": 12,
    },
    "screening": {"red_hours": 4, "amber_working_days": 1, "green_working_days": 3},
}

_MARAC_LIMITS = {
    "visible_high_risk_yes": (1, max(DASH_INSTRUMENTS.values())),
    "escalation_count": (1, 100),
    "escalation_months": (1, MAX_MONTHS),
    "repeat_months": (1, MAX_MONTHS),
}
_SCREENING_LIMITS = {
    "red_hours": (1, 72),
    "amber_working_days": (1, 20),
    "green_working_days": (1, 20),
}
_CLOCK_LIMITS = {
    # Escalation (safehub.timescales.escalation): the share of a clock's time gone at which its
    # allocated worker, then the team manager, is warned; the head of service at the breach.
    "escalate_worker_at_percent": (1, 99),
    "escalate_manager_at_percent": (1, 99),
    "referral_decision_working_days": (1, 20),
    "strategy_discussion_working_days": (1, 20),
    "icpc_working_days": (1, 60),
    "assessment_working_days": (1, 120),
}
_CLOCK_FLAGS = ("strategy_discussion_red_same_day",)
_MAX_YES = max(DASH_INSTRUMENTS.values())


def grade_rank(grade: str) -> int:
    """standard 0, medium 1, high 2."""
    return GRADES.index(grade)


def _is_int(value: Any) -> bool:
    # JSON true is a Python int: refuse it where a number is meant.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(errors: list[str], where: str, value: Any, low: int, high: int) -> bool:
    if not _is_int(value) or not low <= value <= high:
        errors.append(f"{where}: must be a whole number from {low} to {high}, not {value!r}")
        return False
    return True


def _check_keys(
    errors: list[str], where: str, value: Any, expected: dict[str, Any] | tuple[str, ...]
) -> bool:
    """An object with exactly the expected keys. Names every missing and unknown key."""
    if not isinstance(value, dict):
        errors.append(f"{where}: must be an object")
        return False
    for key in expected:
        if key not in value:
            errors.append(f"{where}.{key}: missing")
    for key in value:
        if key not in expected:
            errors.append(f"{where}.{key}: unknown key (expected {', '.join(expected)})")
    return True


def _validate_dash_bands(errors: list[str], bands: Any) -> None:
    if not _check_keys(errors, "dash_bands", bands, tuple(DASH_INSTRUMENTS)):
        return
    for instrument, questions in DASH_INSTRUMENTS.items():
        where = f"dash_bands.{instrument}"
        if instrument not in bands:
            continue
        thresholds = bands[instrument]
        if not _check_keys(errors, where, thresholds, ("medium", "high")):
            continue
        medium_ok = "medium" in thresholds and _check_int(
            errors, f"{where}.medium", thresholds["medium"], 1, questions
        )
        high_ok = "high" in thresholds and _check_int(
            errors, f"{where}.high", thresholds["high"], 1, questions
        )
        if medium_ok and high_ok and thresholds["medium"] >= thresholds["high"]:
            errors.append(f"{where}: medium ({thresholds['medium']}) must be below high")


def _validate_rule(errors: list[str], where: str, rule: Any) -> bool:
    if not isinstance(rule, dict):
        errors.append(f"{where}: must be an object with a code")
        return False
    code = rule.get("code")
    if code not in RULE_PARAMS:
        known = ", ".join(RULE_PARAMS)
        errors.append(f"{where}.code: unknown rule code {code!r} (known: {known})")
        return False
    params = RULE_PARAMS[code]
    ok = True
    for key in rule:
        if key != "code" and key not in params:
            errors.append(f"{where}.{key}: {code} takes no parameter {key!r}")
            ok = False
    for key, kind in params.items():
        if key not in rule:
            errors.append(f"{where}.{key}: missing ({code} needs {', '.join(params)})")
            ok = False
            continue
        value = rule[key]
        if kind == "grade" and value not in GRADES:
            errors.append(f"{where}.{key}: must be one of {', '.join(GRADES)}, not {value!r}")
            ok = False
        elif kind == "count":
            ok = _check_int(errors, f"{where}.{key}", value, 1, _MAX_YES) and ok
        elif kind == "months":
            ok = _check_int(errors, f"{where}.{key}", value, 1, MAX_MONTHS) and ok
    if ok and code == "dash_yes_between" and rule["low"] > rule["high"]:
        errors.append(f"{where}: low ({rule['low']}) must not be above high ({rule['high']})")
        ok = False
    return ok


def _dash_rule_matches(rule: dict[str, Any], yes: int) -> bool:
    if rule["code"] == "dash_yes_at_least":
        return yes >= rule["count"]
    if rule["code"] == "dash_yes_between":
        return rule["low"] <= yes <= rule["high"]
    return False


def _validate_dash_never_lowers(errors: list[str], rag: dict[str, list[dict[str, Any]]]) -> None:
    """More yes answers must never give a lower rating: once a count reaches a level, every higher
    count must reach that level or a higher one (a `dash_yes_between 10-13` in amber needs a red
    or amber rule for 14 and over)."""
    for i, level in enumerate(LEVELS):
        rules = [rule for higher in LEVELS[: i + 1] for rule in rag[higher]]
        reached = False
        for yes in range(_MAX_YES + 1):
            matches = any(_dash_rule_matches(rule, yes) for rule in rules)
            if reached and not matches:
                errors.append(
                    f"rag.{level}: {yes} DASH yes answers would rate below {level} although "
                    f"{yes - 1} rate {level} or higher (add a dash_yes_at_least rule)"
                )
                break
            reached = reached or matches


def _validate_rag(errors: list[str], rag: Any) -> None:
    if not _check_keys(errors, "rag", rag, LEVELS):
        return
    all_ok = True
    for level in LEVELS:
        if level not in rag:
            all_ok = False
            continue
        rules = rag[level]
        if not isinstance(rules, list):
            errors.append(f"rag.{level}: must be a list of rules")
            all_ok = False
            continue
        for n, rule in enumerate(rules):
            all_ok = _validate_rule(errors, f"rag.{level}[{n}]", rule) and all_ok
    if all_ok:
        _validate_dash_never_lowers(errors, rag)


def _validate_numbers(
    errors: list[str], section: str, value: Any, limits: dict[str, tuple[int, int]]
) -> bool:
    if not _check_keys(errors, section, value, tuple(limits)):
        return False
    ok = True
    for key, (low, high) in limits.items():
        if key in value:
            ok = _check_int(errors, f"{section}.{key}", value[key], low, high) and ok
        else:
            ok = False
    return ok


def policy_rules_validate(rules: Any) -> list[str]:
    """Every problem with `rules`, each naming the key at fault ("rag.red[2].code: unknown rule
    code 'x'"). An empty list means the rules can be published."""
    errors: list[str] = []
    sections = ("dash_bands", "rag", "marac", "screening")
    if isinstance(rules, dict) and "clocks" in rules:
        clocks = rules["clocks"]
        rules = {k: v for k, v in rules.items() if k != "clocks"}
        if not isinstance(clocks, dict):
            errors.append("clocks: must be an object")
        else:
            for key in clocks:
                if key in _CLOCK_FLAGS:
                    if not isinstance(clocks[key], bool):
                        errors.append(f"clocks.{key}: must be true or false")
                elif key not in _CLOCK_LIMITS:
                    errors.append(
                        f"clocks.{key}: unknown key (expected "
                        f"{', '.join([*_CLOCK_LIMITS, *_CLOCK_FLAGS])})"
                    )
                else:
                    _check_int(errors, f"clocks.{key}", clocks[key], *_CLOCK_LIMITS[key])
            worker = clocks.get("escalate_worker_at_percent")
            manager = clocks.get("escalate_manager_at_percent")
            if isinstance(worker, int) and isinstance(manager, int) and worker >= manager:
                errors.append(
                    "clocks.escalate_manager_at_percent: must be later than "
                    "escalate_worker_at_percent (the worker is warned first)"
                )
    if not _check_keys(errors, "rules", rules, sections):
        return errors
    if "dash_bands" in rules:
        _validate_dash_bands(errors, rules["dash_bands"])
    if "rag" in rules:
        _validate_rag(errors, rules["rag"])
    if "marac" in rules:
        _validate_numbers(errors, "marac", rules["marac"], _MARAC_LIMITS)
    if "screening" in rules:
        screening = rules["screening"]
        if (
            _validate_numbers(errors, "screening", screening, _SCREENING_LIMITS)
            and screening["green_working_days"] < screening["amber_working_days"]
        ):
            errors.append("screening.green_working_days: must not be shorter than amber's")
    return errors
