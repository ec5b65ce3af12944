import json

from diffusion_course import bench


def test_bench_quick_writes_a_valid_results_file(tmp_path):
    bench.main(quick=True, out=tmp_path)
    r = json.loads((tmp_path / "results.json").read_text())
    assert r["quick"] is True and r["torch"]
    assert r["matmul_peak_gflops"]["fp32"] > 0 and r["matmul_peak_gflops"]["bf16"] > 0
    assert [t["precision"] for t in r["training"]] == ["fp32", "torch.bfloat16"]
    for t in r["training"]:
        assert t["gflop_per_step"] > 0 and 0 < t["fraction_of_peak"] < 5
    s = r["sampling"]
    assert s["gflop_per_forward"] > 0 and s["seconds"] > 0
    a = r["annotation"]
    assert a["time_ratio"] > 0 and 0 < a["trace_mb"] <= 100
    q = r["quality"]
    assert q["untrained unet-scenes"]["recognisable_rate"] <= 0.1
    assert q["unet-scenes"]["recognisable_rate"] > q["untrained unet-scenes"]["recognisable_rate"] + 0.5
    md = (tmp_path / "RESULTS.md").read_text()
    assert "matmul peak fp32" in md and "annotated DDIM" in md and "recognisable" in md


def test_flop_count_of_a_matmul_is_exact():
    import torch

    a, b = torch.randn(8, 16), torch.randn(16, 4)
    assert bench.count_flops(lambda: a @ b) == 2 * 8 * 16 * 4
