using System;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels.Convolution;

[Collection(KernelCollection.Name)]
public class ChannelSumsTests
{
    /// <summary>
    /// The vector reduction adds each column's blocks in block order in double, as one column at a time does:
    /// the same bits, for widths with and without whole 8-column groups and past the 64-column chunk.
    /// </summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(37, 7)]
    [InlineData(37, 16)]
    [InlineData(392, 32)]
    [InlineData(5, 70)]
    [InlineData(25, 133)]
    public unsafe void ReduceAddsEachColumnsBlocksInOrderInDouble(int blocks, int channels)
    {
        // Values of mixed magnitude, so that a different order of the adds would round differently.
        float[] partials = TestData.Random(blocks * channels, 71, -1e3f, 1e3f);
        float[] small = TestData.Random(blocks * channels, 72, -1e-3f, 1e-3f);
        for (int i = 0; i < partials.Length; i += 3) partials[i] = small[i];
        var expected = new double[channels];
        for (int j = 0; j < channels; j++)
        {
            double s = 0;
            for (int b = 0; b < blocks; b++) s += partials[b * channels + j];
            expected[j] = s;
        }
        var doubles = new double[channels];
        var floats = new float[channels];
        fixed (float* p = partials, f = floats)
        fixed (double* d = doubles)
        {
            ChannelSums.Reduce(p, blocks, channels, d);
            ChannelSums.Reduce(p, blocks, channels, f);
        }
        for (int j = 0; j < channels; j++)
        {
            Assert.True(BitConverter.DoubleToInt64Bits(expected[j]) == BitConverter.DoubleToInt64Bits(doubles[j]), $"column {j}: {doubles[j]}, expected {expected[j]}");
            Assert.True(BitConverter.SingleToInt32Bits((float)expected[j]) == BitConverter.SingleToInt32Bits(floats[j]), $"column {j} as float: {floats[j]}, expected {(float)expected[j]}");
        }
    }
}
