"""Exit 0 when llama-cpp-python is installed with its server extra and a portable build.

A build for the host's native instruction set enables AVX-512/AMX kernels that segfault on some of
the CPUs this project runs on; the install script rebuilds when this check fails.
"""

import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
try:
    import llama_cpp
    import llama_cpp.server  # noqa: F401  (the [server] extra: uvicorn, fastapi, sse-starlette)
except Exception as exc:  # noqa: BLE001 - any import failure means "rebuild"
    print(f"llama_cpp not usable: {exc}", file=sys.stderr)
    sys.exit(1)

info = llama_cpp.llama_print_system_info().decode()
bad = [flag for flag in ("AVX512 = 1", "AMX_INT8 = 1", "AMX_TILE = 1", "AVX512_VNNI = 1")
       if flag in info]
if bad or "AVX2 = 1" not in info:
    print(f"llama_cpp build is not portable: {info.strip()}", file=sys.stderr)
    sys.exit(1)
print(f"llama_cpp portable build ok: {info.strip()}")
