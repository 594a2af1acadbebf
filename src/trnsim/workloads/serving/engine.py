"""The serving engine on the shared event core: replicas doing continuous batching with chunked prefill,
a paged KV cache with preemption by recompute, prefix caching, and disaggregated prefill/decode pools.

Per replica, each iteration (vLLM v1 scheduler order):

1. every running decode sequence takes one token (a new KV block when it crosses a block boundary);
   if the cache is full, unreferenced prefix-cache blocks are evicted, then the most recently started
   sequence is preempted (its blocks freed, it goes back to the head of the queue and later recomputes
   its prompt and the tokens generated so far);
2. partially prefilled sequences continue with the next chunk of the token budget;
3. waiting requests are admitted in arrival order while the budget, ``max_batch`` and free KV blocks allow
   (a prompt whose group prefix is cached starts after the cached, block-aligned prefix).

Speed: decoding sequences are held in aggregate (count, sum of KV lengths, a heap of finishing
iterations, block-boundary phase counts) so a decode-only stretch of ``k`` iterations is one event whose
duration has a closed form (iteration time is affine in the total KV length). An arrival for a replica
in such a stretch cuts it at the first iteration boundary after the arrival, exactly as if it had been
simulated iteration by iteration.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from typing import Callable

from trnsim.sim import Simulator
from trnsim.workloads.serving.cost import IterationCost
from trnsim.workloads.serving.deployment import Deployment, MemoryPlan
from trnsim.workloads.serving.workload import Request


class Stats:
    """Counters and time series shared by all replicas of a run."""

    __slots__ = ("itl_hist", "itl_lo", "itl_ratio", "iterations", "events", "prefill_tokens", "cached_tokens",
                 "preemptions", "kv_samples", "batches", "trace", "busy_time", "decode_tokens",
                 "kv_transfers", "kv_transfer_time", "sample_every")

    def __init__(self, trace: bool = False) -> None:
        self.itl_lo = 1e-5
        self.itl_ratio = 1.005
        self.itl_hist: dict[int, float] = {}
        self.iterations = 0
        self.events = 0
        self.prefill_tokens = 0  # prompt tokens computed (incl. recompute)
        self.cached_tokens = 0  # prompt tokens skipped thanks to the prefix cache
        self.decode_tokens = 0
        self.preemptions = 0
        self.kv_samples: list[tuple[float, int, float]] = []  # (time, replica, used fraction)
        self.batches: list[tuple] | None = [] if trace else None
        self.busy_time = 0.0
        self.kv_transfers = 0
        self.kv_transfer_time = 0.0
        self.sample_every = 0.0

    def add_itl(self, d0: float, d1: float, weight: float) -> None:
        """Add ``weight`` inter-token-latency samples spread uniformly over [d0, d1]."""
        lo, r = self.itl_lo, math.log(self.itl_ratio)
        i0 = int(math.log(max(d0, lo) / lo) / r)
        i1 = int(math.log(max(d1, lo) / lo) / r)
        h = self.itl_hist
        if i1 <= i0:
            h[i0] = h.get(i0, 0.0) + weight
            return
        w = weight / (i1 - i0 + 1)
        for i in range(i0, i1 + 1):
            h[i] = h.get(i, 0.0) + w

    def itl_quantile(self, q: float) -> float:
        if not self.itl_hist:
            return math.nan
        keys = sorted(self.itl_hist)
        total = sum(self.itl_hist.values())
        acc = 0.0
        for k in keys:
            acc += self.itl_hist[k]
            if acc >= q * total:
                return self.itl_lo * self.itl_ratio ** (k + 0.5)
        return self.itl_lo * self.itl_ratio ** (keys[-1] + 0.5)

    def itl_mean(self) -> float:
        if not self.itl_hist:
            return math.nan
        total = sum(self.itl_hist.values())
        return sum(w * self.itl_lo * self.itl_ratio ** (k + 0.5) for k, w in self.itl_hist.items()) / total


class PrefixEntry:
    __slots__ = ("tokens", "blocks", "refs", "last")

    def __init__(self, tokens: int, blocks: int, now: float) -> None:
        self.tokens = tokens
        self.blocks = blocks
        self.refs = 0
        self.last = now


class Replica:
    """One engine instance (TP x PP chips). ``role``: "both", "prefill" (disaggregated prefill pool) or
    "decode" (receives prefilled requests). ``MACRO_STEPS = False`` simulates every decode iteration as
    its own event (slow; the tests check both give the same timelines)."""

    MACRO_STEPS = True

    def __init__(self, idx: int, sim: Simulator, cost: IterationCost, dep: Deployment, plan: MemoryPlan,
                 stats: Stats, *, role: str = "both", on_first_token: Callable[[Request, "Replica"], None] | None = None,
                 on_finish: Callable[[Request], None] | None = None, name: str = "") -> None:
        self.idx = idx
        self.name = name or f"replica{idx}"
        self.sim = sim
        self.cost = cost
        self.dep = dep
        self.stats = stats
        self.role = role
        self.on_first_token = on_first_token
        self.on_finish = on_finish
        self.B = dep.block_size
        self.capacity = plan.kv_blocks
        self.used = 0  # blocks held by sequences and the prefix cache
        self.budget = max(dep.max_batched_tokens, dep.max_batch)
        self.static = dep.schedule == "static"
        # TensorRT-LLM GUARANTEED_NO_EVICT: a sequence owns the blocks of isl + osl tokens from admission
        self.reserve = dep.kv_policy == "reserve" and role != "prefill"
        # queues
        self.waiting: deque[Request] = deque()
        self.prefilling: list[Request] = []
        # decode aggregate
        self.K = 0  # iterations done
        self.n = 0
        self.c_sum = 0  # sum of (kv_after_at_join - join_iter): S(K) = c_sum + n*K
        self.phase = [0] * self.B  # count of decode seqs by (c mod B)
        self.finish_heap: list[tuple[int, int, Request]] = []  # (last iteration, id, req)
        self.decode_stack: list[Request] = []  # join order, for preemption (lazy: check state)
        self.decoding: set[int] = set()
        self.cache: dict[int, PrefixEntry] = {}
        # current iteration / macro step
        self.busy = False
        self.ev = None
        self.macro: tuple | None = None  # (t0, K0, k, a, b, S0, n)
        self.cur_prefill: list[tuple[Request, int]] = []  # chunks of the running iteration
        self.cur_t0 = 0.0
        self.outstanding = 0
        self._kick_pending = False

    # ------------------------------------------------------------------ KV helpers
    def _blocks(self, tokens: int) -> int:
        return -(-tokens // self.B)

    def _own_blocks(self, req: Request, tokens: int) -> int:
        """Blocks a sequence holding ``tokens`` KV tokens owns (the shared cached prefix excluded); with the
        ``reserve`` KV policy, the blocks of its whole isl + osl whatever it holds now."""
        if self.reserve:
            return self._blocks(req.isl + req.osl) - req.cached // self.B
        return self._blocks(tokens) - req.cached // self.B

    def _evictable(self) -> int:
        return sum(e.blocks for e in self.cache.values() if e.refs == 0)

    def _free(self) -> int:
        return self.capacity - self.used

    def _make_room(self, need: int, allow_preempt: bool, protect: Request | None = None) -> bool:
        """Free blocks until ``need`` fit: evict idle prefix-cache entries (LRU), then (if allowed)
        preempt the most recently started sequences. Returns whether ``need`` blocks are free."""
        if need <= self._free():
            return True
        if self.cache:
            for g, e in sorted(self.cache.items(), key=lambda kv: kv[1].last):
                if e.refs == 0:
                    self.used -= e.blocks
                    del self.cache[g]
                    if need <= self._free():
                        return True
        if not allow_preempt:
            return False
        while need > self._free():
            victim = self._pick_victim(protect)
            if victim is None:
                return False
            self._preempt(victim)
        return True

    def _preempt_one(self) -> bool:
        victim = self._pick_victim(None)
        if victim is None:
            return False
        self._preempt(victim)
        return True

    def _pick_victim(self, protect: Request | None) -> Request | None:
        # most recently started: prefilling sequences (newest last) first, then decoding ones
        for r in reversed(self.prefilling):
            if r is not protect:
                return r
        while self.decode_stack:
            r = self.decode_stack[-1]
            if r.id in self.decoding and r is not protect:
                return r
            self.decode_stack.pop()
        return None

    def _preempt(self, req: Request) -> None:
        self.stats.preemptions += 1
        req.preemptions += 1
        if req in self.prefilling:
            self.prefilling.remove(req)
            self.used -= self._own_blocks(req, req.prefilled)
        else:
            kv = req.ctx_at_join + (self.K - req.join_iter)  # kv_after of the next iteration - 1
            self.used -= self._own_blocks(req, kv - 1) if kv - 1 > 0 else 0
            self._leave_decode(req)
            self.decode_stack.pop()
        self._unref(req)
        req.prefilled = 0
        req.cached = 0
        req._in_prefill = False
        self.waiting.appendleft(req)

    def _unref(self, req: Request) -> None:
        if req.cached and req.prefix_group in self.cache:
            self.cache[req.prefix_group].refs -= 1

    def _leave_decode(self, req: Request) -> None:
        c = req.ctx_at_join - req.join_iter
        self.n -= 1
        self.c_sum -= c
        self.phase[c % self.B] -= 1
        self.decoding.discard(req.id)
        # generated tokens so far (for recompute): each decode iteration since join produced one
        req.generated += self.K - req.join_iter

    def _join_decode(self, req: Request, kv_after_next: int) -> None:
        """``req`` decodes from the next iteration (index self.K) with ``kv_after_next`` tokens in KV then."""
        req.join_iter = self.K
        req.ctx_at_join = kv_after_next
        c = kv_after_next - self.K
        self.n += 1
        self.c_sum += c
        self.phase[c % self.B] += 1
        self.decoding.add(req.id)
        self.decode_stack.append(req)
        last = self.K + (req.osl - req.generated) - 1
        heapq.heappush(self.finish_heap, (last, req.id, req))

    def _new_blocks(self, K0: int, k: int) -> int:
        """Blocks the decoding sequences allocate over iterations K0..K0+k-1."""
        if self.n == 0 or k <= 0 or self.reserve:
            return 0
        B = self.B
        if k == 1:
            return self.phase[(1 - K0) % B]
        full, rem = divmod(k, B)
        tot = self.n * full
        ph = self.phase
        for j in range(rem):
            tot += ph[(1 - (K0 + j)) % B]
        return tot

    def _kv_steps(self, K0: int, free: int, limit: int) -> int:
        """Largest k <= limit such that the decode growth over k iterations fits in ``free`` blocks."""
        if self.n == 0:
            return limit
        if self._new_blocks(K0, limit) <= free:
            return limit
        lo, hi = 0, limit  # new_blocks(lo) <= free < new_blocks(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._new_blocks(K0, mid) <= free:
                lo = mid
            else:
                hi = mid
        return lo

    # ------------------------------------------------------------------ arrivals
    def enqueue(self, req: Request) -> None:
        req.replica = self.idx
        self.outstanding += 1
        self.waiting.append(req)
        self._wake()

    def _wake(self) -> None:
        """New work: an idle replica starts at once, but after every other event of this instant (so requests
        arriving together are scheduled together); a busy one cuts its decode stretch at the next boundary."""
        if not self.busy:
            if not self._kick_pending:
                self._kick_pending = True
                self.sim.after(0.0, self._kick)
        elif self.macro is not None and self.macro[2] > 1:
            self._cut_macro()

    def _kick(self) -> None:
        self._kick_pending = False
        if not self.busy:
            self._step()

    def receive_prefilled(self, req: Request) -> None:
        """Disaggregated decode: a request whose KV arrived; it joins when blocks are free."""
        req.decode_replica = self.idx
        self.outstanding += 1
        req._in_prefill = False
        req.prefilled = -1  # marker: KV present on arrival, no prefill compute
        self.waiting.append(req)
        self._wake()

    def load(self) -> int:
        return self.outstanding

    # ------------------------------------------------------------------ scheduling
    def _step(self) -> None:
        """Plan and start the next iteration (or macro step); idle if there is nothing to do."""
        sim = self.sim
        now = sim.now
        B = self.B
        # 1. decodes: reserve the blocks this iteration's decode tokens need (preempting if full)
        reserve = 0
        if self.n and not self.reserve:
            reserve = self.phase[(1 - self.K) % B]
            if reserve > self.capacity - self.used:
                while self.n:
                    reserve = self._new_blocks(self.K, 1)
                    if reserve <= self._free() or not self._make_room(reserve, allow_preempt=False) and \
                            not self._preempt_one():
                        break
                reserve = self._new_blocks(self.K, 1) if self.n else 0
        self.used += reserve
        budget = self.budget - self.n
        chunks: list[tuple[Request, int]] = []
        # 2. continuing prefills
        if not self.static and self.prefilling:
            for r in list(self.prefilling):
                if budget <= 0:
                    break
                target = r.isl + r.generated
                q = min(budget, target - r.prefilled) if self.dep.chunked_prefill else target - r.prefilled
                if not self.dep.chunked_prefill and q > budget and (chunks or self.n):
                    break
                need = self._own_blocks(r, r.prefilled + q) - self._own_blocks(r, r.prefilled)
                if not self._make_room(need, allow_preempt=True, protect=r):
                    break
                if r not in self.prefilling:  # preempted itself while making room
                    continue
                self.used += need
                chunks.append((r, q))
                budget -= q
        # 3. admissions
        running = self.n + len(self.prefilling)
        admit_ok = bool(self.waiting) and (not self.static or (self.n == 0 and not self.prefilling))
        while admit_ok and self.waiting and running < self.dep.max_batch and (budget > 0 or self.static):
            r = self.waiting[0]
            if r.prefilled == -1:  # disaggregated: KV already computed elsewhere
                kv = r.isl + r.generated
                r.cached = 0
                need = self._own_blocks(r, kv + 1)
                if not self._make_room(need, allow_preempt=False):
                    break
                self.waiting.popleft()
                self.used += self._own_blocks(r, kv)
                r.prefilled = kv
                r.cached = 0
                if math.isnan(r.scheduled):
                    r.scheduled = now
                if r.generated >= r.osl:
                    self._complete(r)
                else:
                    self._join_decode(r, kv + 1)
                running += 1
                continue
            target = r.isl + r.generated
            cached = 0
            e = self.cache.get(r.prefix_group) if (self.dep.prefix_caching and r.prefix_group >= 0) else None
            if e is not None:
                cached = min(e.tokens, ((target - 1) // B) * B)
            q = target - cached
            if not self.static:
                q = min(q, budget) if self.dep.chunked_prefill else q
                if not self.dep.chunked_prefill and q > budget and (chunks or self.n):
                    break
            r.cached = cached
            need = self._own_blocks(r, cached + q)
            if e is not None:
                e.refs += 1  # protect it from eviction while making room
            ok = self._make_room(need, allow_preempt=False)
            if e is not None:
                e.refs -= 1
            if not ok:
                r.cached = 0
                break
            self.waiting.popleft()
            self.used += need
            r.cached = cached
            r.prefilled = cached
            if e is not None:
                e.refs += 1
                e.last = now
                self.stats.cached_tokens += cached
            r._in_prefill = True
            if math.isnan(r.scheduled):
                r.scheduled = now
            self.prefilling.append(r)
            chunks.append((r, q))
            budget -= q
            running += 1
        self.used -= reserve  # allocated for real when the iteration ends
        if not chunks and self.n == 0:
            self.busy = False
            self.macro = None
            return
        self.busy = True
        S0 = self.c_sum + self.n * self.K  # KV tokens of the decodes after this iteration's token
        if chunks:
            pre = [(q, r.prefilled) for r, q in chunks]
            dt = self.cost.iteration(pre, self.n, S0)
            self.cur_prefill = chunks
            self.macro = (now, self.K, 1, dt, 0.0, S0, self.n)
            self.ev = sim.after(dt, self._end)
            return
        # pure decode: macro step to the next finish or KV exhaustion
        k = self.finish_heap[0][0] - self.K + 1 if self.finish_heap else 1
        k = max(1, k)
        if (self.waiting and self.waiting[0].prefilled == -1) or not self.MACRO_STEPS:
            k = 1  # disaggregated arrival waiting for blocks: re-check every iteration
        k = self._kv_steps(self.K, self._free(), k) or 1
        a, b = self.cost.decode_affine(self.n, S0)
        total = k * a + b * (k * S0 + self.n * k * (k - 1) / 2)
        self.cur_prefill = []
        self.macro = (now, self.K, k, a, b, S0, self.n)
        self.ev = sim.after(total, self._end)

    def _cut_macro(self) -> None:
        """An arrival during a decode stretch: end the stretch at the first iteration boundary >= now."""
        t0, K0, k, a, b, S0, n = self.macro  # type: ignore[misc]
        now = self.sim.now

        def end(j: int) -> float:  # end time of iteration j (0-based)
            m = j + 1
            return t0 + m * a + b * (m * S0 + n * m * (m - 1) / 2)

        lo, hi = 0, k - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if end(mid) >= now:
                hi = mid
            else:
                lo = mid + 1
        if lo >= k - 1:
            return
        self.ev.cancel()
        self.macro = (t0, K0, lo + 1, a, b, S0, n)
        self.ev = self.sim.at(max(end(lo), now), self._end)

    def _end(self) -> None:
        sim = self.sim
        now = sim.now
        st = self.stats
        t0, K0, k, a, b, S0, n = self.macro  # type: ignore[misc]
        st.events += 1
        st.iterations += k
        st.busy_time += now - t0
        # decode progress
        if n:
            self.used += self._new_blocks(K0, k)
            st.decode_tokens += n * k
            d0 = a + b * S0
            d1 = a + b * (S0 + n * (k - 1))
            st.add_itl(d0, d1, n * k)
        if st.batches is not None:
            st.batches.append((self.name, t0, now - t0, k, n, sum(q for _, q in self.cur_prefill),
                               len(self.cur_prefill)))
        self.K = K0 + k
        # prefill chunks
        for r, q in self.cur_prefill:
            if r not in self.prefilling:
                continue
            r.prefilled += q
            st.prefill_tokens += q
            r.prefill_tokens_computed += q
            target = r.isl + r.generated
            if r.prefilled >= target:
                self.prefilling.remove(r)
                r._in_prefill = False
                self._register_prefix(r, now)
                r.generated += 1
                if math.isnan(r.first_token):
                    r.first_token = now
                if self.role == "prefill":
                    self.used -= self._own_blocks(r, target)
                    self._unref(r)
                    r.cached = 0
                    self.outstanding -= 1
                    if self.on_first_token is not None:
                        self.on_first_token(r, self)
                elif r.generated >= r.osl:
                    self._release(r, target)
                    self._complete(r)
                else:
                    self._join_decode(r, target + 1)
        self.cur_prefill = []
        # finishes
        h = self.finish_heap
        while h and h[0][0] <= self.K - 1:
            last, _, r = heapq.heappop(h)
            if r.id not in self.decoding or last != r.join_iter + (r.osl - r.generated) - 1:
                continue
            self._leave_decode(r)
            kv_final = r.isl + r.osl - 1
            self._release(r, kv_final)
            self._complete(r)
        if st.sample_every <= 0 or not st.kv_samples or now - st.kv_samples[-1][0] >= st.sample_every:
            st.kv_samples.append((now, self.idx, self.used / self.capacity))
        self.macro = None
        self._step()

    def _register_prefix(self, r: Request, now: float) -> None:
        if not self.dep.prefix_caching or r.prefix_group < 0 or r.prefix_len < self.B:
            return
        g = r.prefix_group
        toks = (r.prefix_len // self.B) * self.B
        e = self.cache.get(g)
        if e is not None:
            e.last = now
            if r.cached == 0 and e.tokens >= toks:
                return
            if r.cached:
                return
        # the sequence's blocks covering the prefix become the shared cache entry
        e = PrefixEntry(toks, toks // self.B, now)
        if g in self.cache:  # replace a shorter entry
            old = self.cache[g]
            if old.refs == 0:
                self.used -= old.blocks
            else:
                return
        self.cache[g] = e
        e.refs += 1
        r.cached = toks

    def _release(self, r: Request, kv_tokens: int) -> None:
        self.used -= self._own_blocks(r, kv_tokens)
        self._unref(r)
        r.cached = 0

    def _complete(self, r: Request) -> None:
        r.generated = r.osl
        r.finish = self.sim.now
        self.outstanding -= 1
        if self.on_finish is not None:
            self.on_finish(r)
