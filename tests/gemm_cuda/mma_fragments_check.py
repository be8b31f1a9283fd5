# Host-side check of kernels/gemm/cuda/mma_bf16.cu index math (no GPU needed): emulates
# the cp.async chunk mapping + XOR swizzle into shared memory and the ldmatrix(.trans)
# lane addressing for every compiled config and all four layouts, rebuilds the
# m16n8k16 A/B fragments by the PTX fragment layout and checks them against op(A)/op(B);
# also checks that every ldmatrix phase hits 8 distinct bank groups. The formulas are
# copied from mma_bf16.cu: change both together.
import itertools, random
def swz(RL, row, col):
    kch = RL // 8; c = col >> 3
    pc = (c ^ (row & 7)) if kch >= 8 else (c ^ ((row >> 1) & 3))
    return row * RL + pc * 8 + (col & 7)
def fill(BX, BK, KC, val):  # val(x,k)
    RL = BK if KC else BX
    s = [None] * (BX * BK)
    for v in range(BX * BK // 8):
        row, col = v // (RL // 8), (v % (RL // 8)) * 8
        for q in range(8):
            x, k = (row, col + q) if KC else (col + q, row)
            off = swz(RL, row, col) + q
            assert s[off] is None; s[off] = val(x, k)
    assert None not in s
    return s
def ldsm(s, addrs, trans):
    # addrs[lane] = element offset of row (lane%8) of matrix lane//8
    regs = [[None]*4 for _ in range(32)]
    for l in range(32):
        for i in range(4):
            if not trans:
                r, c = l // 4, 2 * (l % 4)
                regs[l][i] = (s[addrs[8*i + r] + c], s[addrs[8*i + r] + c + 1])
            else:
                r0, c = 2 * (l % 4), l // 4
                regs[l][i] = (s[addrs[8*i + r0] + c], s[addrs[8*i + r0 + 1] + c])
    return regs
def check(BM, BN, BK, WM, WN, A_KC, B_KC):
    A = lambda m, k: ('A', m, k); B = lambda k, n: ('B', k, n)
    sa = fill(BM, BK, A_KC, lambda x, k: A(x, k))
    sb = fill(BN, BK, B_KC, lambda x, k: B(k, x))
    ARL = BK if A_KC else BM; BRL = BK if B_KC else BN
    for wm0, wn0 in itertools.product(range(0, BM, WM), range(0, BN, WN)):
        for ks in range(BK // 16):
            for mi in range(WM // 16):
                addrs = []
                for lane in range(32):
                    if A_KC:
                        r, c = wm0 + mi*16 + (lane & 15), ks*16 + (lane >> 4)*8
                    else:
                        r, c = ks*16 + (lane & 7) + (lane >> 4)*8, wm0 + mi*16 + ((lane >> 3) & 1)*8
                    addrs.append(swz(ARL, r, c))
                regs = ldsm(sa, addrs, not A_KC)
                for l in range(32):
                    g, t = l >> 2, l & 3
                    m0 = wm0 + mi*16; k0 = ks*16
                    want = [(g, 2*t), (g+8, 2*t), (g, 2*t+8), (g+8, 2*t+8)]
                    for i, (rr, cc) in enumerate(want):
                        assert regs[l][i] == (A(m0+rr, k0+cc), A(m0+rr, k0+cc+1)), (A_KC, l, i, regs[l][i])
            for np_ in range(WN // 16):
                addrs = []
                for lane in range(32):
                    if B_KC:
                        r, c = wn0 + np_*16 + (lane & 7) + (lane >> 4)*8, ks*16 + ((lane >> 3) & 1)*8
                    else:
                        r, c = ks*16 + (lane & 7) + ((lane >> 3) & 1)*8, wn0 + np_*16 + (lane >> 4)*8
                    addrs.append(swz(BRL, r, c))
                regs = ldsm(sb, addrs, not B_KC)
                for l in range(32):
                    g, t = l >> 2, l & 3
                    k0 = ks*16
                    for j, (ntile, half) in enumerate([(0,0),(0,1),(1,0),(1,1)]):
                        n = wn0 + np_*16 + ntile*8 + g; k = k0 + half*8 + 2*t
                        assert regs[l][j] == (B(k, n), B(k+1, n)), (B_KC, l, j, regs[l][j])
    # bank conflicts of ldmatrix phases: 8 row addresses of one matrix -> distinct 16B bank groups
    return True
def conflicts(RL, rows_base, col):
    groups = set(((swz(RL, rows_base + r, col) * 2) % 128) // 16 for r in range(8))
    return 8 - len(groups)
for cfg in [(128,256,32,64,64),(128,128,32,64,64),(128,128,64,64,32),(64,64,32,32,32)]:
    for akc, bkc in itertools.product([False, True], repeat=2):
        check(*cfg, akc, bkc)
    print("ok", cfg)
for RL in (32, 64, 128, 256):  # 64 B rows and 128 B+ rows
    worst = max(conflicts(RL, rb, c) for rb in range(0, 64, 8) for c in range(0, RL, 8))
    print("RL", RL, "max extra conflicts in an ldmatrix phase:", worst)
assert all(max(conflicts(RL, rb, c) for rb in range(0, 64, 8) for c in range(0, RL, 8)) == 0
           for RL in (32, 64, 128, 256))
