"""The bareASGI performance harness: ``python -m benchmarks`` (see README.md here).

In-process timing of every scenario against a hand-written raw-ASGI floor and the fastest
peers (Starlette, BlackSheep, Falcon), a memory check of streaming 256 MiB out and in, and a
wire section under hypercorn and uvicorn. It is a report, not a test: it exits 0 unless
``--strict`` is given and a target is missed.
"""
