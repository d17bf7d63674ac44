"""Maximum-surplus flow on a small network: numba kernels behind ``clear_market``.

The network has a source (node 0) and a sink (node 1) and two kinds of arcs:

* fixed arcs ``(tail, head, cost, capacity)``;
* curves: bundles of parallel arcs between the same two nodes ("steps"), each
  with its own cost and capacity. Sorted by cost, a bundle is a convex
  piecewise-linear cost, so only its cheapest step with room left (forward)
  and its dearest step carrying flow (backward) can lie on a shortest path.
  A curve is therefore kept as ONE residual arc pair whose cost and capacity
  follow the current step, which keeps the graph at O(regions^2) arcs however
  many price steps there are.

``max_surplus_flow`` is successive shortest paths: augment along the cheapest
source-to-sink path while it has negative cost, i.e. while one more tonne
still adds surplus. It keeps a shortest-path tree with exact distances from
the source (Bellman-Ford at the start, exact because the initial graph has no
cycles). An augmentation only lengthens paths below the arcs it saturated
(or, for a curve, moved to a dearer step), so only those subtrees are
recomputed, by Dijkstra on reduced costs with the old distances as Johnson
potentials. Arcs into the source and out of the sink never lie on a simple
source-to-sink path and are ignored while augmenting.

Node prices are the lowest optimal duals, ``p_v = -dist(v -> source)`` in the
residual graph closed by a sink->source arc (see ``node_prices``).

Every compiled function that calls another lives in this file: numba's
on-disk cache does not notice when a cached function's callees in another
module change.
"""

import numpy as np

from model.compiled import kernel

SOURCE = 0
SINK = 1
VOLUME_TOL_T = 1e-9  # residual capacities at or below this many tonnes count as zero
COST_TOL = 1e-12  # a path must be cheaper than -COST_TOL (USD/kg) to be worth augmenting
BIG_CAP_T = 1e30  # stands for an infinite capacity
PARENT, FIRST, NEXT, PREV = range(4)  # rows of the shortest-path tree


@kernel
def _residual_arcs(arc_tail, arc_head, arc_cost, arc_cap, curve_tail, curve_head, frm, to, cost, res):
    """Fill the residual arc arrays: arc ``a`` is residual arc ``2a``, its reverse ``2a + 1``."""
    n_fixed = arc_tail.size
    for a in range(n_fixed + curve_tail.size):
        tail = arc_tail[a] if a < n_fixed else curve_tail[a - n_fixed]
        head = arc_head[a] if a < n_fixed else curve_head[a - n_fixed]
        frm[2 * a], to[2 * a], frm[2 * a + 1], to[2 * a + 1] = tail, head, head, tail
        cost[2 * a], cost[2 * a + 1], res[2 * a], res[2 * a + 1] = 0.0, 0.0, 0.0, 0.0
        if a < n_fixed:
            cost[2 * a], cost[2 * a + 1] = arc_cost[a], -arc_cost[a]
            res[2 * a] = min(arc_cap[a], BIG_CAP_T)


@kernel
def _group(key, n_groups, visit, bounds, items):
    """Items grouped by ``key`` (CSR), written into ``bounds`` (``n_groups + 1``) and ``items`` (``key.size``).

    ``items[bounds[g]:bounds[g + 1]]`` are group ``g``'s, in ``visit`` order
    (index order when ``visit`` is None).
    """
    bounds[:] = 0
    for k in range(key.size):
        bounds[key[k] + 1] += 1
    for g in range(n_groups):
        bounds[g + 1] += bounds[g]  # bounds[g]: where group g starts
    for i in range(key.size):
        k = i if visit is None else visit[i]
        items[bounds[key[k]]] = k
        bounds[key[k]] += 1  # ... and where its next item goes: in the end, where it stops
    for g in range(n_groups, 0, -1):
        bounds[g] = bounds[g - 1]
    bounds[0] = 0


@kernel
def _sort_into(step_curve, step_cost, n_curves, order, bounds):
    """Order steps by (curve, cost) into ``order``, each curve's slice bounds into ``bounds``.

    Markets hand over each curve's steps in price order (a supply curve's
    costs rise, a demand curve's fall), so grouping them by curve in index
    order and turning falling groups around sorts them in one pass. Only if
    some curve's costs are not strictly monotone in index order (ties
    included) are all steps sorted by cost.
    """
    _group(step_curve, n_curves, None, bounds, order)
    for g in range(n_curves):
        lo, hi = bounds[g], bounds[g + 1]
        rising = hi - lo < 2 or step_cost[order[lo + 1]] > step_cost[order[lo]]
        for k in range(lo + 1, hi):
            a, b = step_cost[order[k - 1]], step_cost[order[k]]
            if not (b > a if rising else b < a):
                _group(step_curve, n_curves, np.argsort(step_cost), bounds, order)
                return
        if not rising:
            for i in range((hi - lo) // 2):
                order[lo + i], order[hi - 1 - i] = order[hi - 1 - i], order[lo + i]


@kernel(inline="always")
def _heap_push(heap, size, key, v):
    """Push node ``v`` with ``key`` on the binary min-heap of ``size`` (rows: key, node); new size."""
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if heap[0, p] <= key:
            break
        heap[0, i], heap[1, i] = heap[0, p], heap[1, p]
        i = p
    heap[0, i], heap[1, i] = key, v
    return size + 1


@kernel(inline="always")
def _heap_pop(heap, size):
    """Drop the top of the heap (read its node first, ``heap[1, 0]``); new size."""
    size -= 1
    key, v = heap[0, size], heap[1, size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and heap[0, c + 1] < heap[0, c]:
            c += 1
        if heap[0, c] >= key:
            break
        heap[0, i], heap[1, i] = heap[0, c], heap[1, c]
        i = c
    heap[0, i], heap[1, i] = key, v
    return size


@kernel
def _reach(n_nodes, frm, to, res, start, arcs, seed, forward, mark, queue):
    """Mark in ``mark`` the nodes reachable from ``seed`` (forward) or that can reach it (not forward), by BFS."""
    mark[:] = False
    mark[seed], queue[0], head, tail = True, seed, 0, 1
    while head < tail:
        u = queue[head]
        head += 1
        for k in range(start[u], start[u + 1]):
            e = arcs[k] if forward else arcs[k] ^ 1  # out-arc of u, or the in-arc paired with it
            v = to[e] if forward else frm[e]
            if res[e] > VOLUME_TOL_T and not mark[v]:
                mark[v] = True
                queue[tail] = v
                tail += 1


@kernel
def _initial_tree(frm, to, cost, res, useful, dist, pred, live):
    """Distances and tree arcs from the source over useful nodes, by Bellman-Ford, into ``dist`` and ``pred``."""
    dist[:] = np.inf
    pred[:] = -1
    dist[SOURCE] = 0.0
    m = 0  # the arcs a pass relaxes, in arc order (fixed during the passes), listed in ``live``
    for e in range(frm.size):
        u, v = frm[e], to[e]
        if res[e] > VOLUME_TOL_T and useful[u] and useful[v] and u != SINK and v != SOURCE:
            live[m], m = e, m + 1
    for _ in range(useful.size):
        changed = False
        for i in range(m):
            e = live[i]
            u, v = frm[e], to[e]
            if dist[u] + cost[e] < dist[v]:
                dist[v], pred[v], changed = dist[u] + cost[e], e, True
        if not changed:
            break


@kernel(inline="always")
def _attach(tree, v, p):
    """Make node ``v`` the first child of ``p`` in ``tree`` (rows: parent, first child, next and previous sibling)."""
    tree[PARENT, v], tree[PREV, v], tree[NEXT, v] = p, -1, tree[FIRST, p]
    if tree[FIRST, p] >= 0:
        tree[PREV, tree[FIRST, p]] = v
    tree[FIRST, p] = v


@kernel(inline="always")
def _detach(tree, v):
    """Unlink node ``v`` from its parent's child list (keeping its own children)."""
    if tree[PARENT, v] < 0:
        return
    if tree[PREV, v] >= 0:
        tree[NEXT, tree[PREV, v]] = tree[NEXT, v]
    else:
        tree[FIRST, tree[PARENT, v]] = tree[NEXT, v]
    if tree[NEXT, v] >= 0:
        tree[PREV, tree[NEXT, v]] = tree[PREV, v]
    tree[PARENT, v] = -1


@kernel
def _successive_shortest_paths(n_nodes, frm, to, n_fixed, curves, cost, res, max_iter, work):
    """Augment along cheapest paths while they have negative cost; False if out of iterations.

    Each round: point the curves whose steps changed at their marginal steps
    (all of them in the first round), build the shortest-path tree (first
    round) or repair it below the arcs the last augmentation cut, stop if the
    sink's distance is no longer negative, else push the bottleneck along the
    tree path to the sink. Written as one loop on purpose: numba
    reference-counts every array handed to a helper, and in this loop that
    was a third of the solver's time. ``work``: the work arrays of
    :func:`max_surplus_flow` (their contents on entry do not matter).
    """
    order, bounds, cur, step_cost, rem, sold = curves
    start, arcs, live, stale, pred, aff_list, queue, tree, dist, key, heap, useful, mark, affected, done = work
    n_curves = cur.size
    _group(frm, n_nodes, None, start, arcs)  # the residual arcs leaving each node (arc e ^ 1 enters it)
    tree[:] = -1
    affected[:], done[:] = False, False
    for g in range(n_curves):
        stale[g] = g
    n_stale, n_aff = n_curves, 0
    for it in range(max_iter + 1):
        # point each stale curve's residual pair (arcs e, e + 1) at its marginal steps
        for i in range(n_stale):
            g = stale[i]
            e, c, lo, hi = 2 * (n_fixed + g), cur[g], bounds[g], bounds[g + 1]
            while c < hi and rem[order[c]] <= VOLUME_TOL_T:
                c += 1
            cur[g] = c
            res[e] = rem[order[c]] if c < hi else 0.0
            if c < hi:
                cost[e] = step_cost[order[c]]
            j = min(c, hi - 1)  # the dearest step carrying flow
            while j >= lo and sold[order[j]] <= VOLUME_TOL_T:
                j -= 1
            res[e + 1] = sold[order[j]] if j >= lo else 0.0
            if j >= lo:
                cost[e + 1] = -step_cost[order[j]]
        n_stale = 0
        if it == 0:  # exact distances from the source by Bellman-Ford, over nodes on a source-sink path
            _reach(n_nodes, frm, to, res, start, arcs, SOURCE, True, useful, queue)
            _reach(n_nodes, frm, to, res, start, arcs, SINK, False, mark, queue)
            for v in range(n_nodes):
                useful[v] &= mark[v]
            _initial_tree(frm, to, cost, res, useful, dist, pred, live)
            for v in range(n_nodes):
                if pred[v] >= 0:
                    _attach(tree, v, frm[pred[v]])
        else:  # repair: the subtrees below the cut arcs, by Dijkstra on reduced costs
            i = 0
            while i < n_aff:
                c = tree[FIRST, aff_list[i]]
                while c >= 0:
                    if not affected[c]:
                        affected[c] = True
                        aff_list[n_aff] = c
                        n_aff += 1
                    c = tree[NEXT, c]
                i += 1
            size = 0
            for i in range(n_aff):  # best entry into each affected node from the unaffected part
                v = aff_list[i]
                key[v], pred[v] = np.inf, -1
                for k in range(start[v], start[v + 1]):
                    ein = arcs[k] ^ 1
                    u = frm[ein]
                    if u != SINK and not affected[u] and res[ein] > VOLUME_TOL_T:
                        if dist[u] + cost[ein] - dist[v] < key[v]:
                            key[v], pred[v] = dist[u] + cost[ein] - dist[v], ein
                if pred[v] >= 0:
                    size = _heap_push(heap, size, key[v], v)
            while size > 0:
                u = np.int64(heap[1, 0])
                size = _heap_pop(heap, size)
                if done[u]:
                    continue
                done[u] = True
                if u == SINK:
                    continue
                for k in range(start[u], start[u + 1]):
                    e = arcs[k]
                    v = to[e]
                    if affected[v] and not done[v] and res[e] > VOLUME_TOL_T:
                        if key[u] + cost[e] + dist[u] - dist[v] < key[v]:
                            key[v], pred[v] = key[u] + cost[e] + dist[u] - dist[v], e
                            size = _heap_push(heap, size, key[v], v)
            for i in range(n_aff):
                v = aff_list[i]
                dist[v] += key[v]
                affected[v], done[v] = False, False
                _detach(tree, v)
                if pred[v] >= 0:
                    _attach(tree, v, frm[pred[v]])
        if not dist[SINK] < -COST_TOL:
            return True
        if it == max_iter:
            break
        # push the bottleneck along the tree path; list the heads of the arcs it cuts
        # (saturates, or moves to a dearer step: distances below them may grow)
        d, v = np.inf, SINK
        while v != SOURCE:
            d = min(d, res[pred[v]])
            v = frm[pred[v]]
        n_aff, v = 0, SINK
        while v != SOURCE:
            e = pred[v]
            if e // 2 >= n_fixed:
                g = e // 2 - n_fixed
                k = order[cur[g]]
                rem[k] -= d
                sold[k] += d
                stale[n_stale] = g
                n_stale += 1
                cut = rem[k] <= VOLUME_TOL_T
            else:
                res[e] -= d
                res[e ^ 1] += d
                cut = res[e] <= VOLUME_TOL_T
            if cut:
                affected[v] = True
                aff_list[n_aff] = v
                n_aff += 1
            v = frm[e]
    return False


@kernel
def node_prices(n_nodes, frm, to, cost, res, price, dist, live, dead):
    """Lowest optimal node prices of an optimal flow's residual graph, into ``price`` (NaN: unconnected).

    ``p_v = -dist(v -> source)`` with a sink->source arc of cost 0 added (its
    reverse never matters: arcs leaving the source do not shorten paths *to*
    it). This is the smallest potential satisfying every reduced-cost
    condition, so it is the lowest price that clears each node. A node with
    no path to the source (no buyer it could serve, nothing flowing through
    it) has duals unbounded below; it gets instead the highest price
    consistent with the rest, ``min(p_u + cost(u, v))`` over residual arcs
    into it, i.e. the cost of delivering one more tonne there. ``dist``,
    ``live`` and ``dead``: work arrays (nodes, residual arcs, nodes).
    """
    dist[:] = np.inf
    dist[SOURCE] = 0.0
    dist[SINK] = 0.0  # the closing sink -> source arc
    m = 0  # residual arcs not leaving the source, in arc order, listed in ``live``
    for e in range(frm.size):
        if res[e] > VOLUME_TOL_T and frm[e] != SOURCE:
            live[m], m = e, m + 1
    for _ in range(n_nodes + 1):
        changed = False
        for i in range(m):
            e = live[i]
            u = frm[e]
            if dist[to[e]] + cost[e] < dist[u]:
                dist[u] = dist[to[e]] + cost[e]
                changed = True
        if not changed:
            break
    for v in range(n_nodes):
        price[v] = -dist[v]
    _price_dead_ends(price, frm, to, cost, res, live, dead)


@kernel
def _price_dead_ends(price, frm, to, cost, res, live, dead):
    """Fill prices of nodes with no path to the source from their cheapest supplier; NaN if none."""
    for v in range(price.size):
        dead[v] = np.isinf(price[v])
        if dead[v]:
            price[v] = np.inf
    m = 0  # residual arcs into dead ends, in arc order, listed in ``live``
    for e in range(frm.size):
        if res[e] > VOLUME_TOL_T and dead[to[e]]:
            live[m], m = e, m + 1
    for _ in range(price.size + 1):
        changed = False
        for i in range(m):
            e = live[i]
            u, v = frm[e], to[e]
            if price[u] + cost[e] < price[v]:
                price[v] = price[u] + cost[e]
                changed = True
        if not changed:
            break
    for v in range(price.size):
        if np.isinf(price[v]):
            price[v] = np.nan


@kernel(inline="always")
def _take(block, at, size):
    """``block[at:at + size]`` and the offset after it: work arrays carved from one allocation."""
    return block[at : at + size], at + size


@kernel
def max_surplus_flow(n_nodes, fixed_arcs, curve_arcs, steps):
    """Surplus-maximising flow from node 0 (source) to node 1 (sink).

    ``fixed_arcs = (tail, head, cost, cap)``, capacities may be ``inf``;
    ``curve_arcs = (tail, head)``, one per curve; ``steps = (curve, cost,
    cap)``, each step a parallel arc of its curve. Costs may be negative (a
    demand step costs minus its bid).
    Returns ``(arc_flow, step_flow, node_price, converged)``.

    Every work array is carved from three blocks (integers, reals, flags):
    three allocations per market instead of some forty small ones.
    """
    step_curve, step_cost, step_cap = steps
    n_fixed, n_curves, n_steps = fixed_arcs[0].size, curve_arcs[0].size, step_cap.size
    n_res, n = 2 * (n_fixed + n_curves), n_nodes
    n_heap = n_res + n + 1
    ints = np.empty(4 * n_res + n_steps + 3 * n_curves + 1 + 8 * n + 1, np.int64)
    frm, at = _take(ints, 0, n_res)
    to, at = _take(ints, at, n_res)
    arcs, at = _take(ints, at, n_res)
    live, at = _take(ints, at, n_res)
    order, at = _take(ints, at, n_steps)
    bounds, at = _take(ints, at, n_curves + 1)
    cur, at = _take(ints, at, n_curves)
    stale, at = _take(ints, at, n_curves)
    start, at = _take(ints, at, n + 1)
    pred, at = _take(ints, at, n)
    aff_list, at = _take(ints, at, n)
    queue, at = _take(ints, at, n)
    tree, at = _take(ints, at, 4 * n)
    reals = np.empty(2 * n_res + 2 * n_steps + 3 * n + 2 * n_heap)
    cost, at = _take(reals, 0, n_res)
    res, at = _take(reals, at, n_res)
    rem, at = _take(reals, at, n_steps)
    sold, at = _take(reals, at, n_steps)
    dist, at = _take(reals, at, n)
    key, at = _take(reals, at, n)
    price, at = _take(reals, at, n)
    heap, at = _take(reals, at, 2 * n_heap)
    flags = np.empty(5 * n, np.bool_)
    useful, at = _take(flags, 0, n)
    mark, at = _take(flags, at, n)
    affected, at = _take(flags, at, n)
    done, at = _take(flags, at, n)
    dead, at = _take(flags, at, n)

    _residual_arcs(*fixed_arcs, *curve_arcs, frm, to, cost, res)
    _sort_into(step_curve, step_cost, n_curves, order, bounds)
    for g in range(n_curves):
        cur[g] = bounds[g]
    for k in range(n_steps):
        rem[k], sold[k] = step_cap[k], 0.0
    curves = (order, bounds, cur, step_cost, rem, sold)
    work = (start, arcs, live, stale, pred, aff_list, queue, tree.reshape((4, n)), dist, key,
            heap.reshape((2, n_heap)), useful, mark, affected, done)  # fmt: skip
    max_iter = 50 * (n_res + n_steps) + 100
    converged = _successive_shortest_paths(n, frm, to, n_fixed, curves, cost, res, max_iter, work)
    node_prices(n, frm, to, cost, res, price, dist, live, dead)
    arc_flow = res[1 : 2 * n_fixed : 2].copy()
    return arc_flow, sold, price, converged
