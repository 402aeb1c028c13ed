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
            for (int h = 1; h <= 40; h++)
                for (int w = 1; w <= 40; w++)
                {
                    var g = new Conv2DGeometry(h, w, 16, h, w, 16, 3, 3, 1, 1, 1, 1);
                    Assert.True(KernelSelection.WinogradTile(h, w) == WinogradConv2D.Tile(g),
                        $"{h}x{w} output: the header says F({KernelSelection.WinogradTile(h, w)}x..), the runtime takes F({WinogradConv2D.Tile(g)}x..)");
                }
        }
        finally { WinogradConv2D.ForcedTile = forced; }
    }
}
