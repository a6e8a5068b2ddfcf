"""numba helper: a view of an array that numba does not reference-count, for arguments of hot calls.

numba counts references to every array it passes: a call increfs each array argument (an array
inside a NamedTuple argument included) in the caller and the callee and decrefs it on the way out,
each an atomic operation on the array's owner (its ``meminfo``). The cascade (``nb._cascade``) is
called on every busy market-step with some sixty arrays, and those operations were about a fifth
of its time (``benchmarks/engine_profile.py``; counted with a debugger at NRT_incref/NRT_decref:
~340 per call). :func:`unowned` returns the same array (data, shape, strides) with no owner
(``meminfo`` NULL, like an array numba wraps around a foreign pointer): numba's incref/decref of it
is a null test, not an atomic operation.

Safe only while the owner outlives the view and the view is never returned or stored: the step loop
(``nb._path``) makes views only of its own arguments (the book's and the outputs' arrays, the
chunk's scratch, and the path state ``nb.simulate_path`` allocated before calling it), which live
until it returns, and passes them down to the cascade; nothing keeps them. Never make one of an
array allocated in the same function: numba frees it after its last use there. With
``DEFI_PERPS_DISABLE_JIT`` it is the identity.
"""

from __future__ import annotations

from typing import Any

from defi_perps.engine._jit import jit_disabled

if jit_disabled():  # pragma: no cover - exercised by a subprocess test

    def unowned(a: Any) -> Any:
        return a
else:
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    @intrinsic
    def unowned(typingctx: Any, arr: Any) -> Any:
        """``arr`` without an owner (see the module docstring)."""
        if not isinstance(arr, types.Array):
            return None

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            src = context.make_array(arr)(context, builder, value=args[0])
            dst = context.make_array(arr)(context, builder)
            dst.meminfo = cgutils.get_null_value(dst.meminfo.type)
            dst.parent = cgutils.get_null_value(dst.parent.type)
            dst.nitems = src.nitems
            dst.itemsize = src.itemsize
            dst.data = src.data
            dst.shape = src.shape
            dst.strides = src.strides
            return dst._getvalue()

        return arr(arr), codegen
