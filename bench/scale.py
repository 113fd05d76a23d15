"""5. Scale: 1,000 and then 10,000 connected managers (see bench.push, which measures it).

python -m bench.scale [--sizes 1000 10000] [--jobs 200 --rate 20]
"""

from __future__ import annotations

from bench.push import main

if __name__ == "__main__":
    main(default_sizes=(1000, 10000), poll_default=False)
