"""PyTorch peers for tests/gpu/run_gpu.sh: prints '|'-rows (median ms, TOPS)."""
import torch, time
def bench(f, n=20):
    for _ in range(3): f()
    torch.cuda.synchronize(); ts = []
    for _ in range(n):
        t = time.perf_counter(); f(); torch.cuda.synchronize(); ts.append(time.perf_counter() - t)
    ts.sort(); return ts[len(ts) // 2] * 1e3
d = torch.device("cuda"); S = 8192
a = torch.randint(-128, 127, (S, S), dtype=torch.int8, device=d)
bt = torch.randint(-128, 127, (S, S), dtype=torch.int8, device=d).t()   # column-major B
ms = bench(lambda: torch._int_mm(a, bt)); print(f"| torch._int_mm int8 {S}^3 TN | {ms:.3f} ms | {2*S**3/ms/1e9:.0f} TOPS |")
try:
    x8 = torch.randn(S, S, device=d).to(torch.float8_e4m3fn); w8 = torch.randn(S, S, device=d).to(torch.float8_e4m3fn).t()
    one = torch.tensor(1.0, device=d)
    ms = bench(lambda: torch._scaled_mm(x8, w8, scale_a=one, scale_b=one, out_dtype=torch.bfloat16))
    print(f"| torch._scaled_mm e4m3 {S}^3 | {ms:.3f} ms | {2*S**3/ms/1e9:.0f} TFLOPS |")
except Exception as e: print(f"| torch._scaled_mm e4m3 | n/a | {e} |")
net = torch.nn.Sequential(*[m for i, o in zip([200,128,64,32,16,8], [128,64,32,16,8,1])
                            for m in (torch.nn.Linear(i, o), torch.nn.ReLU())][:-1], torch.nn.Sigmoid()).to(d)
for B in (1000, 65536):
    x = torch.rand(B, 200, device=d)
    with torch.no_grad():
        ms = bench(lambda: net(x), 50); print(f"| torch fp32 FNN eager b{B} | {ms:.4f} ms | |")
        g = torch.cuda.CUDAGraph(); s = torch.cuda.Stream(); s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s): net(x)
        torch.cuda.current_stream().wait_stream(s)
        with torch.cuda.graph(g): y = net(x)
        ms = bench(lambda: g.replay(), 50); print(f"| torch fp32 FNN CUDA graph b{B} | {ms:.4f} ms | |")
