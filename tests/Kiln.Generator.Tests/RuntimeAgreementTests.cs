using Kiln.Graph;
using Kiln.Kernels;

namespace Kiln.Generator.Tests;

/// <summary>Where the generator names a choice the runtime makes at run time, the two rules must agree.</summary>
public class RuntimeAgreementTests
{
    [Fact]
    public void TheHeaderNamesTheWinogradTileTheRuntimeTakes()
    {
        int forced = WinogradConv2D.ForcedTile;
        WinogradConv2D.ForcedTile = 0; // the per-layer choice, whatever KILN_WINOGRAD_TILE says
        try
        {
            foreach (int window in new[] { 3, 5 })
                for (int h = 1; h <= 40; h++)
                    for (int w = 1; w <= 40; w++)
                    {
                        var g = new Conv2DGeometry(h, w, 16, h, w, 16, window, window, 1, 1, window / 2, window / 2);
                        Assert.True(KernelSelection.WinogradTile(h, w, window) == WinogradConv2D.Tile(g),
                            $"{h}x{w} output, {window}x{window} window: the header says F({KernelSelection.WinogradTile(h, w, window)}x..), the runtime takes F({WinogradConv2D.Tile(g)}x..)");
                    }
        }
        finally { WinogradConv2D.ForcedTile = forced; }
    }

    [Fact]
    public void TheGeneratorTakesPatchMomentsForThePatchesTheRuntimeTakes()
    {
        // The generated first convolution calls BatchNorm.ConvStatistics and ConvMaxPoolBackward, which refuse a larger patch.
        Assert.Equal(BatchNorm.MomentsPatch, KernelProgram.PooledGradientsPatch);
    }
}
