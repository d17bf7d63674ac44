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

``max_surplus_flow`` is successive shortest paths: Dijkstra on reduced costs
(Johnson potentials, initialised by Bellman-Ford, exact here because the
initial graph has no cycles), augmenting while the cheapest source-to-sink
path has negative cost, i.e. while one more tonne still adds surplus.

Node prices are the lowest optimal duals, ``p_v = -dist(v -> source)`` in the
residual graph closed by a sink->source arc (see ``node_prices``).
"""

import numpy as np
from numba import njit

SOURCE = 0
SINK = 1
VOLUME_TOL_T = 1e-9  # residual capacities at or below this many tonnes count as zero
COST_TOL = 1e-12  # a path must be cheaper than -COST_TOL (USD/kg) to be worth augmenting
BIG_CAP_T = 1e30  # stands for an infinite capacity


@njit(cache=True)
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


@njit(cache=True)
def _adjacency(n_nodes, frm):
    """CSR lists of the residual arcs leaving each node."""
    start = np.zeros(n_nodes + 1, np.int64)
    for e in range(frm.size):
        start[frm[e] + 1] += 1
    start = np.cumsum(start)
    fill = start[:-1].copy()
    arcs = np.empty(frm.size, np.int64)
    for e in range(frm.size):
        arcs[fill[frm[e]]] = e
        fill[frm[e]] += 1
    return start, arcs


@njit(cache=True)
def _sort_steps(step_curve, step_cost, n_curves):
    """Steps ordered by (curve, cost), and each curve's slice bounds in that order."""
    order = np.argsort(step_cost, kind="mergesort")
    order = order[np.argsort(step_curve[order], kind="mergesort")]
    bounds = np.searchsorted(step_curve[order], np.arange(n_curves + 1))
    return order, bounds


@njit(cache=True)
def _last_sold(g, order, bounds, cur, sold):
    """Position (in ``order``) of curve ``g``'s dearest step carrying flow, < lo if none."""
    j = min(cur[g], bounds[g + 1] - 1)
    while j >= bounds[g] and sold[order[j]] <= VOLUME_TOL_T:
        j -= 1
    return j


@njit(cache=True)
def _refresh_curve(g, e, order, bounds, cur, step_cost, rem, sold, cost, res):
    """Point curve ``g``'s residual pair (arcs ``e``, ``e + 1``) at its marginal steps."""
    c, hi = cur[g], bounds[g + 1]
    while c < hi and rem[order[c]] <= VOLUME_TOL_T:
        c += 1
    cur[g] = c
    res[e] = rem[order[c]] if c < hi else 0.0
    if c < hi:
        cost[e] = step_cost[order[c]]
    j = _last_sold(g, order, bounds, cur, sold)
    res[e + 1] = sold[order[j]] if j >= bounds[g] else 0.0
    if j >= bounds[g]:
        cost[e + 1] = -step_cost[order[j]]


@njit(cache=True)
def _push_curve(g, e, d, order, bounds, cur, step_cost, rem, sold, cost, res):
    """Send ``d`` tonnes along curve arc ``e`` (forward: sell more; reverse: sell less)."""
    if e % 2 == 0:
        k = order[cur[g]]
    else:
        j = _last_sold(g, order, bounds, cur, sold)
        k, d = order[j], -d
        cur[g] = min(cur[g], j)
    rem[k] -= d
    sold[k] += d
    _refresh_curve(g, e & ~1, order, bounds, cur, step_cost, rem, sold, cost, res)


@njit(cache=True)
def _reach(n_nodes, frm, to, res, seed, forward):
    """Nodes reachable from ``seed`` (forward) or that can reach it (not forward)."""
    mark = np.zeros(n_nodes, np.bool_)
    mark[seed] = True
    changed = True
    while changed:
        changed = False
        for e in range(frm.size):
            a, b = (frm[e], to[e]) if forward else (to[e], frm[e])
            if res[e] > VOLUME_TOL_T and mark[a] and not mark[b]:
                mark[b] = True
                changed = True
    return mark


@njit(cache=True)
def _initial_potentials(n_nodes, frm, to, cost, res):
    """Shortest distances from the source by Bellman-Ford (0 where unreachable)."""
    dist = np.full(n_nodes, np.inf)
    dist[SOURCE] = 0.0
    for _ in range(n_nodes):
        changed = False
        for e in range(frm.size):
            if res[e] > VOLUME_TOL_T and dist[frm[e]] + cost[e] < dist[to[e]]:
                dist[to[e]] = dist[frm[e]] + cost[e]
                changed = True
        if not changed:
            break
    return np.where(np.isinf(dist), 0.0, dist)


@njit(cache=True)
def _dijkstra(active, useful, start, arcs, to, cost, res, pot, dist, pred, done):
    """Reduced-cost Dijkstra from the source over ``active`` nodes; stops at the sink."""
    dist[:] = np.inf
    done[:] = False
    dist[SOURCE] = 0.0
    while True:
        u, best = -1, np.inf
        for v in active:
            if not done[v] and dist[v] < best:
                u, best = v, dist[v]
        if u < 0 or u == SINK:
            return u == SINK
        done[u] = True
        for k in range(start[u], start[u + 1]):
            e = arcs[k]
            v = to[e]
            if res[e] > VOLUME_TOL_T and useful[v] and not done[v]:
                nd = best + cost[e] + pot[u] - pot[v]
                if nd < dist[v]:
                    dist[v], pred[v] = nd, e


@njit(cache=True)
def _bottleneck(pred, frm, res):
    """Largest volume the path recorded in ``pred`` can carry."""
    d, v = np.inf, SINK
    while v != SOURCE:
        d = min(d, res[pred[v]])
        v = frm[pred[v]]
    return d


@njit(cache=True)
def _augment(pred, frm, n_fixed, curves, cost, res):
    """Push the bottleneck volume along the path recorded in ``pred``."""
    order, bounds, cur, step_cost, rem, sold = curves
    d, v = _bottleneck(pred, frm, res), SINK
    while v != SOURCE:
        e = pred[v]
        if e // 2 >= n_fixed:
            _push_curve(e // 2 - n_fixed, e, d, order, bounds, cur, step_cost, rem, sold, cost, res)
        else:
            res[e] -= d
            res[e ^ 1] += d
        v = frm[e]


@njit(cache=True)
def _successive_shortest_paths(n_nodes, frm, to, n_fixed, curves, cost, res, max_iter):
    """Augment along cheapest paths while they have negative cost; False if out of iterations."""
    start, arcs = _adjacency(n_nodes, frm)
    useful = _reach(n_nodes, frm, to, res, SOURCE, True) & _reach(n_nodes, frm, to, res, SINK, False)
    active = np.flatnonzero(useful)
    pot = _initial_potentials(n_nodes, frm, to, cost, res)
    dist, pred = np.empty(n_nodes), np.full(n_nodes, -1, np.int64)
    done = np.zeros(n_nodes, np.bool_)
    for _ in range(max_iter):
        if not useful[SINK] or not _dijkstra(
            active, useful, start, arcs, to, cost, res, pot, dist, pred, done
        ):
            return True
        pot += np.minimum(dist, dist[SINK])
        if pot[SINK] - pot[SOURCE] >= -COST_TOL:
            return True
        _augment(pred, frm, n_fixed, curves, cost, res)
    return False


@njit(cache=True)
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
    for _ in range(n_nodes + 1):
        changed = False
        for e in range(frm.size):
            u = frm[e]
            if res[e] > VOLUME_TOL_T and u != SOURCE and dist[to[e]] + cost[e] < dist[u]:
                dist[u] = dist[to[e]] + cost[e]
                changed = True
        if not changed:
            break
    return _price_dead_ends(-dist, frm, to, cost, res)


@njit(cache=True)
def _price_dead_ends(price, frm, to, cost, res):
    """Fill prices of nodes with no path to the source from their cheapest supplier."""
    dead = np.isinf(price)
    price[dead] = np.inf
    for _ in range(price.size + 1):
        changed = False
        for e in range(frm.size):
            u, v = frm[e], to[e]
            if res[e] > VOLUME_TOL_T and dead[v] and price[u] + cost[e] < price[v]:
                price[v] = price[u] + cost[e]
                changed = True
        if not changed:
            break
    return np.where(np.isinf(price), np.nan, price)


@njit(cache=True)
def max_surplus_flow(n_nodes, fixed_arcs, curve_arcs, steps):
    """Surplus-maximising flow from node 0 (source) to node 1 (sink).

    ``fixed_arcs = (tail, head, cost, cap)``; ``curve_arcs = (tail, head)``, one
    per curve; ``steps = (curve, cost, cap)``, each step a parallel arc of its
    curve. Costs may be negative (a demand step costs minus its bid).
    Returns ``(arc_flow, step_flow, node_price, converged)``.
    """
    arc_tail, arc_head, arc_cost, arc_cap = fixed_arcs
    curve_tail, curve_head = curve_arcs
    step_curve, step_cost, step_cap = steps
    n_fixed, n_curves = arc_tail.size, curve_tail.size
    frm, to, cost, res = _residual_arcs(arc_tail, arc_head, arc_cost, arc_cap, curve_tail, curve_head)
    order, bounds = _sort_steps(step_curve, step_cost, n_curves)
    cur, rem, sold = bounds[:-1].copy(), step_cap.copy(), np.zeros(step_cap.size)
    curves = (order, bounds, cur, step_cost, rem, sold)
    for g in range(n_curves):
        _refresh_curve(g, 2 * (n_fixed + g), order, bounds, cur, step_cost, rem, sold, cost, res)
    max_iter = 50 * (frm.size + step_cap.size) + 100
    converged = _successive_shortest_paths(n_nodes, frm, to, n_fixed, curves, cost, res, max_iter)
    price = node_prices(n_nodes, frm, to, cost, res)
    arc_flow = res[1 : 2 * n_fixed : 2].copy()
    return arc_flow, sold, price, converged
