"""The modern recipe's pieces shared by fashion_cnn_accuracy.py and fashion_resnet.py, as the Kiln
samples' `--recipe modern` (samples/Shared/ModernRecipe.cs and each sample's *Modern model class):
Keras' augmentation layers, and AdamW with Keras' CosineDecay after a linear warmup."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def augment(x):
    """Keras 3's RandomTranslation(0.1, 0.1, fill_mode="constant", fill_value=0, interpolation="bilinear")
    then RandomFlip("horizontal"), per image. Keras maps output pixel (x, y) to input (x - dx, y - dy),
    dx = U(-0.1, 0.1)·width, dy = U(-0.1, 0.1)·height, blending the four neighbours with zeros outside:
    grid_sample with align_corners=True (pixel centres at -1 and 1) and zero padding computes exactly that."""
    n, _, h, w = x.shape
    dy = (torch.rand(n) * 0.2 - 0.1) * h
    dx = (torch.rand(n) * 0.2 - 0.1) * w
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = 1
    theta[:, 1, 1] = 1
    theta[:, 0, 2] = -2 * dx / (w - 1)
    theta[:, 1, 2] = -2 * dy / (h - 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=True)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    flip = torch.rand(n) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def cosine_with_warmup(steps_per_epoch, epochs, peak=2e-3):
    """Keras' CosineDecay(0, decay_steps, warmup_target=peak, warmup_steps=one epoch): the rate at optimizer step s."""
    warm, decay = steps_per_epoch, max(steps_per_epoch * (epochs - 1), 1)

    def rate(s):
        if s < warm:
            return peak * s / warm
        return peak * 0.5 * (1 + math.cos(math.pi * min(s - warm, decay) / decay))
    return rate


def adamw(net, steps_per_epoch, epochs):
    """torch's AdamW (weight decay 0.05, decoupled as Keras') on the convolution and dense kernels only
    (Keras' exclude_from_weight_decay(["bias", "batch_normalization"])), and the schedule that steps it."""
    decayed = [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    rest = [p for p in net.parameters() if all(p is not d for d in decayed)]
    opt = torch.optim.AdamW([{"params": decayed, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}], lr=1.0, eps=1e-7)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, cosine_with_warmup(steps_per_epoch, epochs))
