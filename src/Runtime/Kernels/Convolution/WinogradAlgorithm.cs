namespace Kiln.Kernels;

/// <summary>
/// The Winograd algorithms F(m×m, r×r) the kernels run: each m×m tile of outputs of an r×r window
/// from the (m + r − 1)² input patch under it, with one product per patch point and channel pair.
/// </summary>
internal enum WinogradAlgorithm
{
    /// <summary>16 products per 2×2 outputs (36 direct).</summary>
    F2x2For3x3,
    /// <summary>36 products per 4×4 outputs (144 direct).</summary>
    F4x4For3x3,
    /// <summary>36 products per 2×2 outputs (100 direct); the same 6 points, so the same input transform as F(4×4, 3×3).</summary>
    F2x2For5x5,
    /// <summary>64 products per 4×4 outputs (400 direct; F(2×2, 5×5) takes 144 for the same outputs): 8 points, 0, ±1, ±2, ±½.</summary>
    F4x4For5x5,
}

internal static class WinogradAlgorithmShape
{
    /// <summary>m: the outputs along each side of a tile.</summary>
    public static int Tile(this WinogradAlgorithm a) => a is WinogradAlgorithm.F4x4For3x3 or WinogradAlgorithm.F4x4For5x5 ? 4 : 2;

    /// <summary>r: the window's side.</summary>
    public static int Window(this WinogradAlgorithm a) => a is WinogradAlgorithm.F2x2For5x5 or WinogradAlgorithm.F4x4For5x5 ? 5 : 3;

    /// <summary>m + r − 1: the input patch's side, and the points of the transforms.</summary>
    public static int Patch(this WinogradAlgorithm a) => a.Tile() + a.Window() - 1;

    /// <summary>(m + r − 1)²: the transformed planes, one GEMM each.</summary>
    public static int Planes(this WinogradAlgorithm a) => a.Patch() * a.Patch();
}
