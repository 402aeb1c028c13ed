using System;

namespace Kiln;

/// <summary>Base of every layer attribute; the generator reads them in declaration order.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public abstract class LayerAttribute : Attribute
{
    // Only Kiln's own layers: the generator knows each by name, so a subclass elsewhere could
    // only be left out of the model (KILN0011 says so for one that slips through).
    private protected LayerAttribute() { }

    /// <summary>Keras' <c>name=</c>; by default the layer is named like Keras does (<c>dense_1</c>).</summary>
    public string? Name { get; set; }

    /// <summary>
    /// Keras' <c>trainable=</c>: false freezes the layer's weights (they become non-trainable state
    /// and get no gradients) and runs a BatchNormalization on its moving statistics. Gradients
    /// still flow through the layer to the ones before it.
    /// </summary>
    public bool Trainable { get; set; } = true;

    /// <summary>
    /// The layer this one reads, by name, instead of the attribute written before it: a branch
    /// starts with it (a projection shortcut, an Inception branch, a second head). The named layer
    /// must be written above this one.
    /// </summary>
    public string? From { get; set; }
}

/// <summary>Flattens each sample to one dimension.</summary>
public sealed class FlattenAttribute : LayerAttribute { }

/// <summary>Fully connected layer: <c>activation(x · kernel + bias)</c>.</summary>
public sealed class DenseAttribute : LayerAttribute
{
    public DenseAttribute(int units, Activation activation = Activation.Linear)
    {
        Units = units;
        Activation = activation;
    }

    public int Units { get; }
    public Activation Activation { get; }
    public bool UseBias { get; set; } = true;

    /// <summary>Keras' <c>kernel_regularizer=L1(l1)</c>: l1·Σ|kernel| joins the loss each batch (0, the default: none).</summary>
    public double KernelL1 { get; set; }

    /// <summary>Keras' <c>kernel_regularizer=L2(l2)</c>: l2·Σkernel² joins the loss each batch (0, the default: none). With <see cref="KernelL1"/>, Keras' <c>L1L2</c>.</summary>
    public double KernelL2 { get; set; }

    /// <summary>Keras' <c>bias_regularizer=L1(l1)</c>: l1·Σ|bias| joins the loss each batch (0, the default: none).</summary>
    public double BiasL1 { get; set; }

    /// <summary>Keras' <c>bias_regularizer=L2(l2)</c>: l2·Σbias² joins the loss each batch (0, the default: none).</summary>
    public double BiasL2 { get; set; }
}

/// <summary>Rectified linear unit, <c>max(x, 0)</c>.</summary>
public sealed class ReluAttribute : LayerAttribute { }

/// <summary>Leaky ReLU; the slope for negative inputs defaults to 0.3 as in Keras' layer.</summary>
public sealed class LeakyReluAttribute : LayerAttribute
{
    public LeakyReluAttribute(double alpha = 0.3) => Alpha = alpha;

    public double Alpha { get; }
}

/// <summary>Logistic sigmoid.</summary>
public sealed class SigmoidAttribute : LayerAttribute { }

/// <summary>Hyperbolic tangent.</summary>
public sealed class TanhAttribute : LayerAttribute { }

/// <summary>Softmax over the last axis.</summary>
public sealed class SoftmaxAttribute : LayerAttribute { }

/// <summary>Inverted dropout: in training, zeroes a fraction <c>rate</c> of units and scales the rest by 1/(1 − rate).</summary>
public sealed class DropoutAttribute : LayerAttribute
{
    public DropoutAttribute(double rate) => Rate = rate;

    public double Rate { get; }
}

/// <summary>Reshapes each sample; the element count must stay the same.</summary>
public sealed class ReshapeAttribute : LayerAttribute
{
    public ReshapeAttribute(params int[] targetShape) => TargetShape = targetShape;

    public int[] TargetShape { get; }
}
