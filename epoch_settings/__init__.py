"""Deployment settings: one TOML file, validated before anything is synthesized."""

from epoch_settings.loader import (
    DEFAULT_SETTINGS_PATH,
    SETTINGS_ENV_VAR,
    SettingsError,
    load_settings,
    settings_path_from,
)
from epoch_settings.model import (
    ApiClient,
    ApiSettings,
    BudgetSettings,
    JwtSettings,
    LambdaSettings,
    Names,
    RemoteStateSettings,
    RolloutSettings,
    RoutingSettings,
    Settings,
    TableSettings,
)

__all__ = [
    "DEFAULT_SETTINGS_PATH",
    "SETTINGS_ENV_VAR",
    "ApiClient",
    "ApiSettings",
    "BudgetSettings",
    "JwtSettings",
    "LambdaSettings",
    "Names",
    "RemoteStateSettings",
    "RolloutSettings",
    "RoutingSettings",
    "Settings",
    "SettingsError",
    "TableSettings",
    "load_settings",
    "settings_path_from",
]
