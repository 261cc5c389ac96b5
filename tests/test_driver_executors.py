"""WorkerPool: a worker killed half-way through writing its result must not freeze the night."""
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.e2e


def test_stopping_a_pool_whose_worker_died_mid_result_returns(tmp_path):
    # The worker writes the header of a 4096-byte result and 7 of its bytes into the pool's
    # result pipe, then is killed: the pool's reader is left waiting for the rest.  The script
    # runs in its own process so that a regression fails by timeout instead of hanging the suite.
    script = tmp_path / "half_result.py"
    script.write_text(textwrap.dedent('''
        import inspect, os, signal, struct
        from concurrent.futures import wait
        from desghost.driver.executors import WorkerPool

        def die_mid_result():
            for frame in inspect.stack():
                queue = frame.frame.f_locals.get("result_queue")
                if queue is not None:
                    os.write(queue._writer.fileno(), struct.pack("!i", 4096) + b"partial")
                    os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("no result queue in the worker's stack")

        if __name__ == "__main__":
            pool = WorkerPool(1)
            future = pool.submit(die_mid_result)
            wait([future], timeout=3)  # it never finishes: the pool's manager thread reads the half message
            pool.stop()
            print("stopped", type(future.exception(timeout=5)).__name__ if future.done() else "pending")
    '''))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("stopped"), done.stdout
