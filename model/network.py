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
def _residual_arcs(arc_tail, arc_head, arc_cost, arc_cap, curve_tail, curve_head):
    """Residual arc arrays: arc ``a`` is residual arc ``2a``, its reverse ``2a + 1``."""
    n_fixed = arc_tail.size
    n_arcs = n_fixed + curve_tail.size
    frm = np.empty(2 * n_arcs, np.int64)
    to = np.empty(2 * n_arcs, np.int64)
    cost = np.zeros(2 * n_arcs)
    res = np.zeros(2 * n_arcs)
    for a in range(n_arcs):
        tail = arc_tail[a] if a < n_fixed else curve_tail[a - n_fixed]
        head = arc_head[a] if a < n_fixed else curve_head[a - n_fixed]
        frm[2 * a], to[2 * a], frm[2 * a + 1], to[2 * a + 1] = tail, head, head, tail
        if a < n_fixed:
            cost[2 * a], cost[2 * a + 1] = arc_cost[a], -arc_cost[a]
            res[2 * a] = min(arc_cap[a], BIG_CAP_T)
    return frm, to, cost, res


@kernel
def _buckets(key, n_buckets, visit):
    """Items grouped by ``key`` (CSR): ``items[bounds[b]:bounds[b + 1]]`` are bucket ``b``'s, in ``visit`` order."""
    bounds = np.zeros(n_buckets + 1, np.int64)
    for k in range(key.size):
        bounds[key[k] + 1] += 1
    bounds = np.cumsum(bounds)
    fill = bounds[:-1].copy()
    items = np.empty(key.size, np.int64)
    for k in visit:
        items[fill[key[k]]] = k
        fill[key[k]] += 1
    return bounds, items


@kernel
def _adjacency(n_nodes, frm):
    """CSR lists of the residual arcs leaving each node (arc ``e ^ 1`` enters it)."""
    return _buckets(frm, n_nodes, np.arange(frm.size))


@kernel
def _sort_steps(step_curve, step_cost, n_curves):
    """Order steps by (curve, cost); also return each curve's slice bounds in that order.

    Markets hand over each curve's steps in price order (a supply curve's
    costs rise, a demand curve's fall), so grouping them by curve in index
    order and turning falling groups around sorts them in one pass. Only if
    some curve's costs are not strictly monotone in index order (ties
    included) are all steps sorted by cost.
    """
    bounds, order = _buckets(step_curve, n_curves, np.arange(step_cost.size))
    for g in range(n_curves):
        lo, hi = bounds[g], bounds[g + 1]
        rising = hi - lo < 2 or step_cost[order[lo + 1]] > step_cost[order[lo]]
        for k in range(lo + 1, hi):
            a, b = step_cost[order[k - 1]], step_cost[order[k]]
            if not (b > a if rising else b < a):
                bounds, order = _buckets(step_curve, n_curves, np.argsort(step_cost))
                return order, bounds
        if not rising:
            order[lo:hi] = order[lo:hi][::-1].copy()
    return order, bounds


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
def _reach(n_nodes, frm, to, res, start, arcs, seed, forward):
    """Nodes reachable from ``seed`` (forward) or that can reach it (not forward), by breadth-first search."""
    mark = np.zeros(n_nodes, np.bool_)
    queue = np.empty(n_nodes, np.int64)
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
    return mark


@kernel
def _initial_tree(frm, to, cost, res, useful):
    """Distances and tree arcs from the source over useful nodes, by Bellman-Ford."""
    dist = np.full(useful.size, np.inf)
    pred = np.full(useful.size, -1, np.int64)
    dist[SOURCE] = 0.0
    live, m = np.empty(frm.size, np.int64), 0  # the arcs a pass relaxes, in arc order (fixed during the passes)
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
    return dist, pred


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
def _successive_shortest_paths(n_nodes, frm, to, n_fixed, curves, cost, res, max_iter):
    """Augment along cheapest paths while they have negative cost; False if out of iterations.

    Each round: point the curves whose steps changed at their marginal steps
    (all of them in the first round), build the shortest-path tree (first
    round) or repair it below the arcs the last augmentation cut, stop if the
    sink's distance is no longer negative, else push the bottleneck along the
    tree path to the sink. Written as one loop on purpose: numba
    reference-counts every array handed to a helper, and in this loop that
    was a third of the solver's time.
    """
    order, bounds, cur, step_cost, rem, sold = curves
    n_curves = cur.size
    start, arcs = _adjacency(n_nodes, frm)
    dist, pred = np.empty(n_nodes), np.empty(n_nodes, np.int64)
    tree = np.full((4, n_nodes), -1, np.int64)
    heap = np.empty((2, frm.size + n_nodes + 1))  # rows: key, node (a float, exact)
    key, aff_list = np.empty(n_nodes), np.empty(n_nodes, np.int64)
    affected, done = np.zeros(n_nodes, np.bool_), np.zeros(n_nodes, np.bool_)
    stale, n_stale, n_aff = np.arange(n_curves), n_curves, 0
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
            useful = _reach(n_nodes, frm, to, res, start, arcs, SOURCE, True)
            useful &= _reach(n_nodes, frm, to, res, start, arcs, SINK, False)
            dist, pred = _initial_tree(frm, to, cost, res, useful)
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
def node_prices(n_nodes, frm, to, cost, res):
    """Lowest optimal node prices of an optimal flow's residual graph (NaN: unconnected).

    ``p_v = -dist(v -> source)`` with a sink->source arc of cost 0 added (its
    reverse never matters: arcs leaving the source do not shorten paths *to*
    it). This is the smallest potential satisfying every reduced-cost
    condition, so it is the lowest price that clears each node. A node with
    no path to the source (no buyer it could serve, nothing flowing through
    it) has duals unbounded below; it gets instead the highest price
    consistent with the rest, ``min(p_u + cost(u, v))`` over residual arcs
    into it, i.e. the cost of delivering one more tonne there.
    """
    dist = np.full(n_nodes, np.inf)
    dist[SOURCE] = 0.0
    dist[SINK] = 0.0  # the closing sink -> source arc
    live, m = np.empty(frm.size, np.int64), 0  # residual arcs not leaving the source, in arc order
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
    return _price_dead_ends(-dist, frm, to, cost, res)


@kernel
def _price_dead_ends(price, frm, to, cost, res):
    """Fill prices of nodes with no path to the source from their cheapest supplier."""
    dead = np.isinf(price)
    price[dead] = np.inf
    live, m = np.empty(frm.size, np.int64), 0  # residual arcs into dead ends, in arc order
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
    return np.where(np.isinf(price), np.nan, price)


@kernel
def max_surplus_flow(n_nodes, fixed_arcs, curve_arcs, steps):
    """Surplus-maximising flow from node 0 (source) to node 1 (sink).

    ``fixed_arcs = (tail, head, cost, cap)``, capacities may be ``inf``;
    ``curve_arcs = (tail, head)``, one per curve; ``steps = (curve, cost,
    cap)``, each step a parallel arc of its curve. Costs may be negative (a
    demand step costs minus its bid).
    Returns ``(arc_flow, step_flow, node_price, converged)``.
    """
    step_curve, step_cost, step_cap = steps
    n_fixed, n_curves = fixed_arcs[0].size, curve_arcs[0].size
    frm, to, cost, res = _residual_arcs(*fixed_arcs, *curve_arcs)
    order, bounds = _sort_steps(step_curve, step_cost, n_curves)
    cur, rem, sold = bounds[:-1].copy(), step_cap.copy(), np.zeros(step_cap.size)
    curves = (order, bounds, cur, step_cost, rem, sold)
    max_iter = 50 * (frm.size + step_cap.size) + 100
    converged = _successive_shortest_paths(n_nodes, frm, to, n_fixed, curves, cost, res, max_iter)
    price = node_prices(n_nodes, frm, to, cost, res)
    arc_flow = res[1 : 2 * n_fixed : 2].copy()
    return arc_flow, sold, price, converged
