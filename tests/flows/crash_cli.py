"""The wachtlijst CLI with a fault hook installed: ``python -m tests.flows.crash_cli POINT run ...``
kills itself (and its process group) at fault point POINT, as a power cut would."""

import sys

from flows.cli import main
from flows.resume import install_fault_hook, kill_process_group_at

if __name__ == "__main__":
    install_fault_hook(kill_process_group_at(sys.argv.pop(1)))
    main()
