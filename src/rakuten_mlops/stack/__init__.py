"""The native stack (`rakuten-mlops up` / `down`): every service on loopback under honcho, no Docker.

services   what runs: `Service`, `Ports`, `build_plan()` from the settings
files      the Procfile, its environment file and Prometheus's config under MLOPS_HOME/stack
runner     start honcho, wait for health, supervise, stop; `stop_stack()` for `down`
processes  the pid file and finding every process of a stack by its marker variable
wait       `python -m rakuten_mlops.stack.wait URL...`, run by the Procfile before dependent services
"""

from rakuten_mlops.stack.plan import build_plan
from rakuten_mlops.stack.runner import DownResult, StackRunner, interrupt_on_sigterm, stop_stack
from rakuten_mlops.stack.services import (
    HOST,
    MARKER_ENV,
    Ports,
    Service,
    StackError,
    StackPlan,
    check_ports,
    prometheus_installed,
)

__all__ = [
    "HOST",
    "MARKER_ENV",
    "DownResult",
    "Ports",
    "Service",
    "StackError",
    "StackPlan",
    "StackRunner",
    "build_plan",
    "check_ports",
    "interrupt_on_sigterm",
    "prometheus_installed",
    "stop_stack",
]
