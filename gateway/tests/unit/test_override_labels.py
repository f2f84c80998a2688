"""Which progressive @override labels a request gets: percentages drawn, other labels off,
settings forcing either way."""

from __future__ import annotations

import pytest

from gateway.federation.override import OverrideLabels, percentage


@pytest.mark.parametrize(
    ("label", "share"),
    [
        ("percent(25)", 25.0),
        ("percent(0)", 0.0),
        ("percent(100)", 100.0),
        ("percent(12.5)", 12.5),
        ("percent(101)", None),
        ("beta", None),
        ("percent(x)", None),
    ],
)
def test_a_percentage_label_is_read(label: str, share: float | None) -> None:
    assert percentage(label) == share


def test_a_percentage_is_active_when_the_draw_falls_under_it() -> None:
    labels = OverrideLabels.of({"percent(25)", "percent(75)", "beta"})
    assert labels.draw(lambda: 0.5) == {"percent(75)"}
    assert labels.draw(lambda: 0.1) == {"percent(25)", "percent(75)"}
    assert labels.draw(lambda: 0.9) == frozenset()


def test_settings_force_labels_on_and_off() -> None:
    labels = OverrideLabels.of(
        {"percent(25)", "beta"}, forced_on={"beta"}, forced_off={"percent(25)"}
    )
    assert labels.draw(lambda: 0.0) == {"beta"}


def test_a_supergraph_without_labels_draws_nothing() -> None:
    assert OverrideLabels.of(()).draw() == frozenset()


def test_labels_forced_by_settings_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.settings import GatewaySettings

    monkeypatch.setenv("GATEWAY_OVERRIDE_LABELS_ON", "beta, percent(5)")
    monkeypatch.setenv("GATEWAY_OVERRIDE_LABELS_OFF", "")
    settings = GatewaySettings(AUTH_JWT_SECRET="s" * 40)
    assert settings.override_labels_on == {"beta", "percent(5)"}
    assert settings.override_labels_off == frozenset()
