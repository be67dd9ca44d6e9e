"""The UI's settings: one immutable value made by the CLI and passed down."""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "facegraft" / "ui"
LOOPBACK_NAMES = ("localhost",)


@dataclasses.dataclass(frozen=True)
class UiConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (the bound one is printed)
    data_dir: Path = DEFAULT_DATA_DIR
    max_upload_bytes: int = 2 * 1024**3
    open_browser: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, not {self.port}")
        if self.max_upload_bytes < 1:
            raise ValueError("the upload limit must be at least 1 byte")
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
