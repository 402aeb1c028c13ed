using System;

namespace Kiln;

/// <summary>
/// Marks a class as a block: a group of layer attributes that models inline with
/// <see cref="UseAttribute{TBlock}"/>, as many times as they like, each with its own
/// <see cref="Block.Filters"/>, <see cref="Block.Units"/> and <see cref="Block.Strides"/>
/// (a ResNet's basic block, used once per stage). Inside a block, names refer to the block's own
/// layers, and <see cref="Block.In"/> to the layer the block reads.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class BlockAttribute : Attribute { }

/// <summary>
/// The parameters a <see cref="BlockAttribute"/> class writes where a number or a layer name goes;
/// each <see cref="UseAttribute{TBlock}"/> gives them their values. The generator recognizes these
/// values, which no real argument has.
/// </summary>
public static class Block
{
    /// <summary>The <c>Filters</c> of the [Use].</summary>
    public const int Filters = int.MinValue + 101;

    /// <summary>The <c>Units</c> of the [Use].</summary>
    public const int Units = int.MinValue + 102;

    /// <summary>The <c>Strides</c> of the [Use] (1 unless it says otherwise).</summary>
    public const int Strides = int.MinValue + 103;

    /// <summary>As a <c>From</c> or merge input: the layer the block reads (the one before the [Use], or its <c>From</c>).</summary>
    public const string In = "\u0001block-input";
}

/// <summary>
/// Inlines the layers of block <typeparamref name="TBlock"/> here, with its parameters:
/// <c>[Use&lt;BasicBlock&gt;(Filters = 32, Strides = 2, Name = "stage2")]</c>. The block's layers are
/// named <c>stage2.main</c>, <c>stage2.conv2d</c>, … (their weights <c>stage2.main/gamma</c>), and the
/// layer after the [Use] reads the block's last layer.
/// </summary>
public sealed class UseAttribute<TBlock> : LayerAttribute where TBlock : class
{
    public int Filters { get; set; }
    public int Units { get; set; }
    public int Strides { get; set; } = 1;
}
