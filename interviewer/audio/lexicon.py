"""How the Piper voice says technical terms: the written form → what espeak-ng phonemises.

espeak-ng's English rules guess at words they do not know, and ML vocabulary is full of them:
"GloVe" becomes "glow vee", "RoPE" "row P E", "LoRA" "low R A", "NaN" "nah N", "FLOPs" loses its
"s", "ONNX" becomes "ongks", "3x3" "three ex three". Whether an all-capitals token is spelled
or read as a word also depends on its neighbours ("the AUC curve" is spelled, "AUC or ROC" is
read "awk or rock"). The lexicon fixes each written form to one spoken form before phonemes are
made; the text the user sees is never changed (the Piper adapter alone calls `segments`).

Entries are matched case-sensitively as whole tokens (a letter or digit on either side
prevents a match, a hyphen or slash does not: "PR-AUC", "ReLU-like"), each optionally followed
by a plural or possessive "s" / "'s" / "s'":
- `SPELLED` (and `SPELLED_MIXED`, e.g. "IoU"): said letter by letter. The adapter phonemises
  such a term on its own as "A.U.C.", which espeak-ng reads as one abbreviation with the stress
  pattern of its own acronyms, whatever the neighbours;
- `RESPELLED`: a respelling in ordinary words ("GloVe" → "glove", "ReLU" → "ray-loo");
- `PATTERNS`: digits inside tokens ("3x3" → "3 by 3", "1e-4" → "1 e minus 4", "YOLOv8" →
  "YOLO v8").
A lower-case word is never changed unless listed in lower case ("tanh"): "glove", "rope" and
"ram" stay themselves.

The entries come from the whole question bank (questions, follow-ups, rubric points and
reference answers): every token with two capitals, a capital after a lower-case letter or a
digit next to a letter was phonemised by espeak-ng inside a sentence and alone, and its IPA
read. Tokens espeak-ng already says right (ResNet, PyTorch, word2vec, softmax, CUDA) are not
listed, except all-capitals ones, which are all decided (`LEFT_TO_ESPEAK`), so that a new one
in the bank fails `tests/audio/test_lexicon.py` until someone decides how it is said.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: Acronyms said letter by letter (espeak-ng otherwise reads some as words in some contexts:
#: "AUC" → "awk", "ROC" → "rock", "QA" → "kah", "CI" → "sigh", "EMA" → "ima", "HMM" → "hum").
SPELLED = frozenset("""
    AB AES AI ANN AP API AR ASPP ASR AST ATSS AUC AWQ BA BCE BFS BGE BN BPE CD CDF CE CFG CI
    CLAHE CLR CLS CNN COO CPU CSR CSV CV DAN DB DCG DDP DDPM DFS DL DP DPO DVC ECE EHR EMA ETL EU
    FC FCN FDA FFN FGSM FID FIM FN FOV FP FPN FPR FPS FSDP FT GAE GAP GAT GB GCN GDPR GGUF GMM
    GN GNN GP GPT GPTQ GPU GQA GRPO GRU GT HBM HMM HNSW HTTP ICDR IEC IMP IP IRB ISO IVF JVM JWT
    KDE KL KS KV KYC LCS LDA LLM LM LN LR LSTM MAE MAP MC MCE MCMC MDR MHA MI ML MLE MLM MLP MQA
    MRR MSE MT MTEB NB NDCG NER NLI NLL NLP NMS NPU NPV NTK ODE OOD OOV OS PAN PBT PCA PDF PGD
    PII PPO PPV PQ PR PSD PSI PTQ PV QA QAT QK QKV QPS RDP RFC RGB RL RLHF RMS RMSE RNG RNN ROC
    RPN SFT SGC SGD SGDR SLA SM SQL SRM SS SSD SSE STE STS SVD SVM TB TCN TF TN TP TPE TPR TTA
    TTFT TTUR UI UNK UTM VAD VAE VJP VOC VPC XML
    BFGS DDIM GAN GCM ID IID IO KPI NT SNE SSM WL
""".split())

#: All-capitals tokens of the bank left to espeak-ng, which reads them as words as they are
#: said ("CUDA", "JSON", "SHAP", "ROUGE") or spells them as it should ("DBSCAN" → "DB scan").
#: Listed so that a new acronym in the bank is a decision (`tests/audio/test_lexicon.py`).
LEFT_TO_ESPEAK = frozenset("""
    ASHA BART BLAS BLOCK BYOL CBOW CLIP COCO COMET CONFIG CUBLAS CUDA CVAT DBSCAN DETR DINO
    ELBO FAISS FCOS FLAN GELU GEMM HIPAA JPEG JSON LADIES LAMB LARS LIME MAPE MASK METIS MIPS
    NVIDIA PACS PEFT ROUGE SHAP SIGN SIMD SIZE SMOTE SNIP SRAM UMAP YOLO
""".split())

#: Written form → respelling in ordinary words (espeak-ng phonemises the respelling).
RESPELLED: dict[str, str] = {
    # Mixed case read as separate words by espeak-ng ("Glo Ve", "Ro PE", "Ze RO").
    "GloVe": "glove", "RoPE": "rope", "ZeRO": "zero", "YaRN": "yarn", "NaN": "nan",
    "LLaMA": "llama", "ALiBi": "alibi", "LoRA": "lora", "QLoRA": "Q lora", "HyDE": "hide",
    "FLOPs": "flops", "FLOPS": "flops", "RoIAlign": "RoI align", "RoIPool": "RoI pool",
    # Activations: "ReLU" is otherwise spelled "R E L U"; said "ray-loo" by most speakers.
    "ReLU": "ray-loo", "PReLU": "P ray-loo", "SiLU": "sigh-loo", "SwiGLU": "swig-loo",
    "tanh": "tanch",
    # Acronyms said as words ("rag", not "R A G"). GAN is spelled: said "gan", it was heard
    # as "gam" or "scans" in the dev questions, and G-A-N is common usage too.
    "WGAN": "W GAN", "Graph-RAG": "graph rag", "RAG": "rag", "RAM": "ram", "VRAM": "V ram",
    "GIL": "gill", "AMP": "amp", "NCCL": "nickel", "ONNX": "onyx", "CAM": "cam", "GIN": "gin",
    # Read as words already, but the plural or possessive "s" is lost ("BERT's" → "BERT").
    "BERT": "Bert", "SBERT": "S-Bert", "REST": "rest", "ELECTRA": "electra", "BLEU": "bleu",
    "METEOR": "meteor", "YOLOX": "YOLO X", "INT4": "int four", "INT8": "int eight",
    "SimCLR": "Sim CLR",
    # Lower-case words espeak-ng stresses or sounds wrongly (found among the bank's words that
    # Whisper's tokenizer does not know as one token): "stochastic" → "sto-CHAS-tic",
    # "contrastive" → "CON-trastive", "sinusoidal" → "sin-OO-soidal", "iterable" → "EYE-terable".
    "stochastic": "stowkastic", "contrastive": "kuntrastive", "sinusoidal": "sinus-oidal",
    "sinusoids": "sinus-oids", "equivariant": "equi-variant", "equivariance": "equi-variance",
    "iterable": "itterable", "backtest": "back-test", "groupby": "group-by",
    "safetensors": "safe-tensors", "denoising": "denoizing", "pretraining": "pre-training",
    "pretrained": "pre-trained",
}
# A lower-case entry also applies at the start of a sentence ("Stochastic ...").
RESPELLED.update({k.capitalize(): v.capitalize() for k, v in list(RESPELLED.items())
                  if k.islower()})

#: Mixed-case written forms spelled letter by letter (espeak says "IoU" as "ee-oh-you").
SPELLED_MIXED: dict[str, str] = {
    "IoU": "IOU", "GIoU": "GIOU", "DIoU": "DIOU", "RoI": "ROI", "MoE": "MOE", "mAP": "MAP",
    "A/B": "AB",
}

# (pattern, replacement): digits inside tokens.
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # "3x3", "4096x4096", "8x7B": a size, said "by".
    (re.compile(r"(?<![\w.])(\d+)x(\d+)"), r"\1 by \2"),
    # "1e-4": espeak says "one E four".
    (re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)e-(\d+)\b"), r"\1 e minus \2"),
    # "YOLOv8": espeak says "yah-luv eight".
    (re.compile(r"\b(YOLO)v(\d+)\b", re.IGNORECASE), r"YOLO v\2"),
)


def spell(letters: str) -> str:
    """Letters as espeak-ng reads an abbreviation: "AUC" → "A.U.C."."""
    return "".join(f"{ch}." for ch in letters)


@dataclass(frozen=True)
class Spelled:
    """A term said letter by letter: its letters ("AUC") and a plural/possessive "s" if any."""

    letters: str
    plural: bool = False


#: What `segments` returns: ordinary text to phonemise, or a term to spell.
Segment = str | Spelled


def _entries(words: Iterable[str]) -> re.Pattern[str]:
    # Longest first, so that "QLoRA" is not read as "Q" + "LoRA". A letter, digit or an
    # apostrophe followed by a letter ("RLHF'd") on either side prevents a match.
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])(?P<word>{alternatives})(?P<suffix>'s|s'|s)?"
                      r"(?!['’]?[A-Za-z0-9])")


_RESPELL = _entries(RESPELLED)
_SPELL = _entries([*SPELLED, *SPELLED_MIXED])


def respell(text: str) -> str:
    """`text` with digit patterns and respelled terms replaced (spelled terms kept as written)."""
    for pattern, repl in PATTERNS:
        text = pattern.sub(repl, text)
    return _RESPELL.sub(lambda m: RESPELLED[m["word"]] + (m["suffix"] or ""), text)


def _unjoin(text: str) -> str:
    return text[1:] if text[:1] in ("-", "/") else text


def segments(text: str) -> list[Segment]:
    """`text` as it should be said: respelled text, split around the terms to spell.

    A hyphen or slash joining a spelled term to the next word ("PR-AUC", "GPU-0", "CI/CD") is
    dropped: espeak-ng would say "minus" or "slash", a person says neither.
    """
    out: list[Segment] = []
    pos = 0
    text = respell(text)
    for m in _SPELL.finditer(text):
        before = text[pos:m.start()]
        if out and isinstance(out[-1], Spelled):
            before = _unjoin(before)
        if before:
            out.append(before)
        word = m["word"]
        out.append(Spelled(SPELLED_MIXED.get(word, word), plural=m["suffix"] is not None))
        pos = m.end()
    rest = text[pos:]
    if out and isinstance(out[-1], Spelled):
        rest = _unjoin(rest)
    if rest:
        out.append(rest)
    return out


def spoken(text: str) -> str:
    """A readable form of what is said (for logs and tests): spelled terms as "A.U.C.", with
    "'s" for a plural."""
    return "".join(s if isinstance(s, str) else
                   ".".join(s.letters) + ("'s" if s.plural else ".") for s in segments(text))
