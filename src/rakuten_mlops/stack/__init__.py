"""The native stack (`rakuten-mlops up` / `down`): every service on loopback under supervisord, no Docker.

services   what runs: `Service`, `Ports`, `StackPlan`, port checks
plan       `build_plan()` from the settings and the ports
files      supervisord's config, its environment file and Prometheus's config under MLOPS_HOME/stack
control    `SupervisorClient`: process states, log tails and stops over supervisord's XML-RPC socket
events     the record of every state change (`read_events`, `restarts`), followed by `up`
listener   supervisord's event listener that writes that record (run by supervisord, not imported)
keys       the API key the stack's services share
runner     start supervisord, wait for health, report restarts, stop
stopping   the shutdown in order through supervisord; `stop_stack()` for `down`
processes  the pid file and finding every process of a stack by its marker variable
wait       `python -m rakuten_mlops.stack.wait URL... -- COMMAND`, in front of dependent services
"""

from rakuten_mlops.stack.control import ProcessState, SupervisorClient
from rakuten_mlops.stack.keys import ApiKey, stack_api_key
from rakuten_mlops.stack.plan import build_plan
from rakuten_mlops.stack.runner import StackRunner
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
from rakuten_mlops.stack.stopping import DownResult, interrupt_on_sigterm, stop_stack

__all__ = [
    "HOST",
    "MARKER_ENV",
    "ApiKey",
    "DownResult",
    "Ports",
    "ProcessState",
    "Service",
    "StackError",
    "StackPlan",
    "StackRunner",
    "SupervisorClient",
    "build_plan",
    "check_ports",
    "interrupt_on_sigterm",
    "prometheus_installed",
    "stack_api_key",
    "stop_stack",
]
