# Baseline for bench/segment.bench.ts: Python's multiprocessing.shared_memory
# doing create + map + write + close + unlink of a 4 KiB segment.
import json, sys, time
from multiprocessing import shared_memory

def rounds(n_rounds, per_round):
    rates = []
    for _ in range(n_rounds):
        t0 = time.perf_counter()
        for _ in range(per_round):
            s = shared_memory.SharedMemory(create=True, size=4096)
            s.buf[0] = 1
            s.close()
            s.unlink()
        rates.append(per_round / (time.perf_counter() - t0))
    return rates

rounds(1, 500)  # warm up
print(json.dumps({"cycles_per_s": rounds(int(sys.argv[1]), int(sys.argv[2]))}))
