"Mixed precision follows the card: bf16 from compute capability 8.0, fp16 with a GradScaler below, nothing on the CPU (capabilities faked)."
import warnings
import pytest, torch
from spam_llms.core import amp_dtype
from spam_llms.encoders import resolve_precision, weights_dtype, _slot_precision
from spam_llms import finetune as ft

# card -> (compute capability, encoders' precision, autocast dtype, GradScaler on)
CARDS = {"P100": ((6, 0), "fp16", torch.float16, True), "T4": ((7, 5), "fp16", torch.float16, True),
         "A100": ((8, 0), "bf16", torch.bfloat16, False), "H100": ((9, 0), "bf16", torch.bfloat16, False)}

@pytest.fixture
def card(monkeypatch, request):
    cap = CARDS[request.param][0]
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None: cap)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # resolve_device("cuda") accepts it
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True if including_emulation else cap >= (8, 0))  # the pinned torch's answers
    return request.param

@pytest.mark.parametrize("card", list(CARDS), indirect=True)
def test_precision_resolves_from_the_card(card):
    _, prec, amp, scaler = CARDS[card]
    assert torch.cuda.is_bf16_supported()  # what the old code asked: True everywhere, emulated below 8.0
    assert resolve_precision("auto", "cuda") == prec and weights_dtype(prec) == amp
    assert _slot_precision("text", "minilm", "cuda", "auto", None) == ("cuda", prec)  # what 02_embed's encoders load and autocast in
    assert amp_dtype("cuda:0") == amp
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no real CUDA here: torch disables the autocast but keeps its dtype
        assert ft._autocast("cuda").fast_dtype == amp
    assert ft.needs_grad_scaler("cuda") is scaler

def test_cpu_paths_stay_float32_or_int8():
    assert resolve_precision("auto", "cpu") == "int8" and _slot_precision("image", "efficientnet-lite0", "cpu", "auto", "x") == ("cpu", "fp32")
    assert amp_dtype("cpu") is None and not ft.needs_grad_scaler("cpu") and not ft._autocast("cpu")._enabled
    assert weights_dtype("int8") is None and weights_dtype("fp32") is None  # weights stay float32: CPU results do not move

def test_finetune_loads_frozen_layers_in_half_and_trains_float32():
    _, enc = ft.load_encoder("minilm", torch.bfloat16)
    top = ft.TopEncoder(enc, 1)
    assert {w.dtype for w in top.parameters() if w.requires_grad} == {torch.float32}
    assert {w.dtype for w in top.parameters() if not w.requires_grad} == {torch.bfloat16}
    assert {w.dtype for w in ft.load_encoder("minilm")[1].parameters()} == {torch.float32}
