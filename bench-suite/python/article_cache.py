"""The article's cache in its own language, for cachebench to measure.

`ArticleCache` is the design the article describes: a weak-value dictionary from each key to
its newest entry, and a deque of at most `maxlen` strong references to entries, oldest first.
An entry is a `dict` subclass (a plain dict cannot be weakly referenced) holding the value and
its deadline. A `set_ex` appends a new entry, even for a key already there; when the deque is
full the append drops its oldest entry, and the weak dictionary forgets a key once the entry it
points at has no strong reference left. A `get_ex` returns the value while `now <= deadline`
and removes nothing: an expired entry stays until the deque pushes it out.

Times are seconds as floats, as the article's `time.time()`, from a clock the caller moves by
hand (`clock`): the requests below carry them as exact decimals of whole nanoseconds
(`12.000000345`), read correctly rounded (whole seconds are exact). A TTL of any size is
accepted: a deadline far past the clock's range is never reached.

Run as a program (`python3 article_cache.py`), it serves one cache over stdin and stdout, one
request per line, each field followed by a tab (so that the line break stands alone):

    N <maxlen> <str|int> <str|int>   a new cache, keys and values kept as str or int -> ok
    S <now> <ttl> <key> <value>   set_ex at time now                            (no reply)
    G <now> <key>              get_ex at time now         -> H <value>, or M for a miss
    C <now>                    -> <entries in the deque not expired at now>
    L                          -> <entries in the deque> <keys in the weak dictionary>
    T                          start tracemalloc                                -> ok
    B                          -> <bytes tracemalloc traces now>
    P <now> <key> <n>          times n get_ex of key, in Python -> <median ns of 15 rounds>
                               (stops tracemalloc first: its hooks make a get ten times slower)

The driver prints `ready <python version>` first. A malformed request ends it with a message
on stderr and exit status 2.

Under tracemalloc (the footprint and retention runs) every allocation is traced, and tracing
one looks up the line it was made on by scanning its function's line table from the start: an
object made per entry deep in `serve` costs microseconds. A request that walks the entries must
make nothing per entry (see `C`).
"""

import collections
import operator
import sys
import time
import weakref
from itertools import repeat

NOT_FOUND = object()


class Entry(dict):
    """An entry: {'result': value, 'expire': deadline}. A dict subclass, so that the weak
    dictionary can refer to it."""

    def __del__(self):
        pass


class ArticleCache:
    """At most `maxlen` entries; expired entries stay until pushed out."""

    def __init__(self, maxlen, clock):
        self.weak = weakref.WeakValueDictionary()
        self.strong = collections.deque(maxlen=maxlen)
        self.clock = clock

    def get_ex(self, key):
        entry = self.weak.get(key, NOT_FOUND)
        if entry is NOT_FOUND:
            return NOT_FOUND
        if self.clock() > entry['expire']:
            return NOT_FOUND
        return entry['result']

    def set_ex(self, key, value, ttl):
        entry = Entry({'result': value, 'expire': self.clock() + ttl})
        self.weak[key] = entry
        self.strong.append(entry)


def serve(requests, replies):
    now = [0.0]
    clock = lambda: now[0]
    expire = operator.itemgetter('expire')
    cache = ArticleCache(0, clock)
    key_kind = value_kind = str
    write = replies.write
    write('ready %d.%d.%d\n' % sys.version_info[:3])
    replies.flush()
    # Lines are read as bytes through the binary reader, whose buffer has one fixed size, and
    # decoded one at a time: a text reader keeps its last decoded chunk, whose size depends on
    # how the pipe's reads fell, and tracemalloc would count it.
    for raw in requests:
        # Few objects per request: under tracemalloc each allocation is traced, and sets are
        # most of what a run sends.
        f = raw.decode().split('\t')
        op = f[0]
        if op == 'S':
            now[0] = float(f[1])
            cache.set_ex(key_kind(f[3]), value_kind(f[4]), float(f[2]))
            continue
        if op == 'G':
            now[0] = float(f[1])
            v = cache.get_ex(key_kind(f[2]))
            write('M\n' if v is NOT_FOUND else 'H\t%s\n' % v)
        elif op == 'L':
            write('%d\t%d\n' % (len(cache.strong), len(cache.weak)))
        elif op == 'N':
            kinds = {'str': str, 'int': int}
            key_kind, value_kind = kinds[f[2]], kinds[f[3]]
            cache = None
            cache = ArticleCache(int(f[1]), clock)
            write('ok\n')
        elif op == 'T':
            import tracemalloc
            tracemalloc.start()
            write('ok\n')
        elif op == 'B':
            import tracemalloc
            write('%d\n' % tracemalloc.get_traced_memory()[0])
        elif op == 'C':
            # `t <= deadline`, counted in C with no object made per entry: `operator.le` is
            # called without an argument tuple (`t.__le__` would make one per entry, and under
            # tracemalloc each is traced, its line number looked up: seconds per count).
            t = float(f[1])
            write('%d\n' % sum(map(operator.le, repeat(t), map(expire, cache.strong))))
        elif op == 'P':
            now[0] = float(f[1])
            key, n = key_kind(f[2]), int(f[3])
            import tracemalloc
            tracemalloc.stop()
            get = cache.get_ex
            rounds = []
            for _ in range(15):
                began = time.perf_counter_ns()
                for _ in range(n):
                    get(key)
                rounds.append((time.perf_counter_ns() - began) / n)
            rounds.sort()
            write('%d\n' % rounds[len(rounds) // 2])
        else:
            raise ValueError('unknown request %r' % op)
        replies.flush()


if __name__ == '__main__':
    try:
        # Sets arrive in writes of 64 KiB: read them in reads of that size.
        serve(open(sys.stdin.fileno(), 'rb', buffering=1 << 16, closefd=False), sys.stdout)
    except (ValueError, KeyError, IndexError) as e:
        sys.stderr.write('article_cache: bad request: %s\n' % e)
        sys.exit(2)
