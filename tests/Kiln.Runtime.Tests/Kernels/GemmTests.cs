using System;
using System.Collections.Generic;
using Kiln;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels;

[Collection(KernelCollection.Name)]
public class GemmTests
{
    public enum Op { Nn, Tn, Nt }

    // Awkward sizes: 1, primes around the tile sizes, the MLP's 300/784, k beyond one KC block,
    // n beyond one NC block, m beyond one MC block.
    private static readonly (int M, int N, int K)[] Sizes =
    {
        (1, 1, 1), (1, 300, 784), (7, 17, 33), (17, 7, 1), (33, 33, 33), (8, 32, 256), (9, 33, 257),
        (32, 300, 784), (300, 7, 17), (784, 17, 32), (33, 784, 7), (65, 70, 513), (200, 2100, 5), (1, 7, 300),
        // Single rows split over threads: by columns (one k block), with an overlapping vector tail
        // (1000 = 62·16 + 8), and by k blocks.
        (1, 1000, 200), (1, 157, 900),
        // Single-row blocks: the MLP's later layers (7 vectors of 16; 13 of 8, wider than the 256-bit
        // block, so taken in row tiles; one masked vector), fewer columns than one vector, exactly one and
        // sixteen full vectors, a masked ninth vector, 17 vectors in one 512-bit block, and one past its 24
        // (row tiles, a block of 8 then 17; at 256 bits 8 + 8 + 8 + 8 + 8 + 9).
        (1, 100, 300), (1, 10, 100), (1, 3, 2), (1, 15, 3), (1, 16, 4), (1, 256, 2), (1, 129, 7), (1, 44, 5), (1, 270, 3), (1, 385, 3),
        (2, 44, 5), (3, 10, 100),
        // One column (a matrix-vector product, split by rows), exactly one tile of each micro-kernel
        // (6×16, 8×32) with k = 1, and a 2×3 product of depth 1.
        (5, 1, 9), (70, 1, 300), (6, 16, 1), (8, 32, 1), (2, 3, 1),
        // Large enough (m·k ≥ Gemm.SharedPackMinFloats) that two threads pack A once and share it, with k
        // over several KC blocks; and taller than GemmScratch.PackedRows (2,112 rows at the usual blocks),
        // so A is packed in bands. Neither m nor n is a multiple of a tile.
        (601, 70, 517), (2300, 41, 130),
        // A band of A too tall for two k blocks in the shared buffer: packed and multiplied a k block at a time.
        (1100, 40, 600),
        // Short and deep with few columns: split by rows, one part per thread, rather than packing A in
        // every column part (the Fashion CNN's Dense is 64 × 3136 → 128); an even and an odd case.
        (64, 40, 1000), (57, 45, 1500),
        // At most 16 columns with A read in place (GemmNarrow on the 512-bit path), split by rows over the threads,
        // the last group of rows short.
        (1001, 13, 300),
    };

    public static IEnumerable<object[]> Cases()
    {
        foreach (int bits in new[] { 512, 256, 0 })
            foreach (Op op in Enum.GetValues<Op>())
                foreach (var (m, n, k) in Sizes)
                {
                    if (bits == 0 && (long)m * n * k > 2_000_000) continue; // the scalar path is slow; small sizes cover it
                    yield return new object[] { bits, op, m, n, k };
                }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesNaiveReference(int bits, Op op, int m, int n, int k)
    {
        using var _ = new KernelSwitches(bits, 2);
        foreach (bool padded in new[] { false, true })
            foreach (bool accumulate in new[] { false, true })
                RunCase(op, m, n, k, padded ? 3 : 0, accumulate, $"{op} {m}x{n}x{k} bits={bits} pad={padded} acc={accumulate}");
    }

    private static void RunCase(Op op, int m, int n, int k, int pad, bool accumulate, string what)
    {
        int aRows = op == Op.Tn ? k : m, aCols = op == Op.Tn ? m : k;
        int bRows = op == Op.Nt ? n : k, bCols = op == Op.Nt ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        float[] a = TestData.Random((aRows - 1) * lda + aCols, 1);
        float[] b = TestData.Random((bRows - 1) * ldb + bCols, 2);
        float[] c = TestData.Random(m * ldc, 3);
        float[] expected = (float[])c.Clone();
        var scale = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0, abs = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = op == Op.Tn ? a[p * lda + i] : a[i * lda + p];
                    double bv = op == Op.Nt ? b[j * ldb + p] : b[p * ldb + j];
                    s += av * bv;
                    abs += Math.Abs(av * bv);
                }
                double c0 = accumulate ? c[i * ldc + j] : 0;
                expected[i * ldc + j] = (float)(c0 + s);
                scale[i * n + j] = abs + Math.Abs(c0);
            }
        switch (op)
        {
            case Op.Nn: Gemm.Nn(m, n, k, a, lda, b, ldb, c, ldc, accumulate); break;
            case Op.Tn: Gemm.Tn(m, n, k, a, lda, b, ldb, c, ldc, accumulate); break;
            default: Gemm.Nt(m, n, k, a, lda, b, ldb, c, ldc, accumulate); break;
        }
        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++)
            {
                int at = i * ldc + j;
                if (j >= n)
                {
                    // Padding between rows belongs to someone else: it must be untouched.
                    Assert.True(expected[at] == c[at], $"{what}: padding at ({i}, {j}) was overwritten");
                    continue;
                }
                double tol = 1e-4 * scale[i * n + j] + 1e-6;
                if (!(Math.Abs(c[at] - expected[at]) <= tol))
                    Assert.Fail($"{what}: C[{i},{j}] = {c[at]}, expected {expected[at]}");
            }
    }

    public static IEnumerable<object[]> EpilogueCases()
    {
        foreach (int bits in new[] { 512, 256, 0 })
            foreach (string act in new[] { "identity", "relu", "leaky", "sigmoid", "tanh" })
                yield return new object[] { bits, act };
    }

    [Theory]
    [MemberData(nameof(EpilogueCases))]
    public void BiasActivationEpilogueMatchesReference(int bits, string act)
    {
        using var _ = new KernelSwitches(bits, 2);
        switch (act)
        {
            case "identity": Epilogue(new Identity(), x => x); break;
            case "relu": Epilogue(new Relu(), x => Math.Max(x, 0)); break;
            case "leaky": Epilogue(new LeakyRelu(0.2f), x => x > 0 ? x : 0.2 * x); break;
            case "sigmoid": Epilogue(new Sigmoid(), x => 1 / (1 + Math.Exp(-x))); break;
            default: Epilogue(new Tanh(), Math.Tanh); break;
        }
    }

    private static void Epilogue<TAct>(TAct act, Func<double, double> reference) where TAct : struct, IActivation
    {
        foreach (var (m, n, k) in new[] { (7, 17, 33), (32, 300, 784), (9, 33, 600), (1, 10, 100), (601, 70, 517), (1, 100, 300), (1, 385, 7), (1, 3, 5) })
            foreach (bool withBias in new[] { true, false })
            {
                int lda = k + 1, ldb = n + 2, ldc = n + 5;
                float[] a = TestData.Random((m - 1) * lda + k, 11);
                float[] b = TestData.Random((k - 1) * ldb + n, 12, -0.1f, 0.1f);
                float[] bias = withBias ? TestData.Random(n, 13) : Array.Empty<float>();
                float[] c = TestData.Random(m * ldc, 14);
                var expected = new float[m * n];
                var actual = new float[m * n];
                Gemm.NnBiasActivation(m, n, k, a, lda, b, ldb, bias, c, ldc, act);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        double s = withBias ? bias[j] : 0;
                        for (int p = 0; p < k; p++) s += (double)a[i * lda + p] * b[p * ldb + j];
                        expected[i * n + j] = (float)reference(s);
                        actual[i * n + j] = c[i * ldc + j];
                    }
                TestData.Close(expected, actual, 1e-4, 1e-5, $"{typeof(TAct).Name} {m}x{n}x{k} bias={withBias}");
            }
    }

    // Up to KC one block, unless deeper than TwoBlocksFromDepth; else an even number of blocks of one depth (a multiple of
    // 8, no deeper than KC, the last shorter by the rounding alone), the fewest even count that KC allows; and with the
    // switch off, ceil(k / KC) blocks as before.
    [Fact]
    public void KBlocksAreEvenInCountAndEvenInDepth()
    {
        int kc = GemmScratch.KC, two = GemmScratch.TwoBlocksFromDepth;
        for (int k = 1; k <= 6 * kc + 50; k++)
        {
            int kb = GemmScratch.KBlock(k);
            int cuts = (k + kc - 1) / kc;
            if (cuts == 1 && k <= two) { Assert.Equal(k, kb); continue; }
            int blocks = (k + kb - 1) / kb, last = k - (blocks - 1) * kb;
            Assert.True(kb <= kc && kb % 8 == 0, $"k {k}: block {kb} (KC {kc})");
            Assert.Equal(Math.Max(2, cuts + (cuts & 1)), blocks);
            // The last block falls short of the others by the rounding to 8 alone: at most 8 per block.
            Assert.True(last >= kb - 8 * blocks && last <= kb, $"k {k}: blocks of {kb}, the last {last}");
        }
        Assert.Equal(2, (300 + GemmScratch.KBlock(300) - 1) / GemmScratch.KBlock(300));
        GemmScratch.EvenBlocks = false;
        try
        {
            for (int k = 1; k <= 3 * kc; k++)
                Assert.Equal((k + kc - 1) / kc, (k + GemmScratch.KBlock(k) - 1) / GemmScratch.KBlock(k));
        }
        finally { GemmScratch.EvenBlocks = true; }
    }

    /// <summary>
    /// A row of C gets the same bits whether it lies in a full row tile, in a last panel of 1–4 rows (the micro-kernel's tail)
    /// or of more (a full tile on a scratch tile): the first rows of A times B, taken with every row count up to three tiles,
    /// against the same rows of the tallest product; with C accumulated into and with a bias + ReLU epilogue.
    /// </summary>
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    public void RowsGetTheSameBitsWhateverTheRowCount(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        // One k block; the MLP's first layer (four k blocks, a row of B in one register block at 512 bits); a row
        // wider than a register block at either width (column blocks) over two k blocks.
        foreach (var (n, k) in new[] { (300, 97), (300, 784), (805, GemmScratch.KC + 9) })
            CompareRowCounts(bits, n, k);
    }

    private static void CompareRowCounts(int bits, int n, int k)
    {
        const int tallest = 25;
        float[] a = TestData.Random(tallest * k, 31), b = TestData.Random(k * n, 32), bias = TestData.Random(n, 33), start = TestData.Random(tallest * n, 34);
        foreach (bool accumulate in new[] { false, true })
            foreach (bool epilogue in new[] { false, true })
            {
                float[] Product(int m)
                {
                    var c = start.AsSpan(0, m * n).ToArray();
                    Gemm.Multiply(false, false, m, n, k, a.AsSpan(0, m * k), k, b, n, c, n, accumulate, epilogue ? bias : default, epilogue, new Relu());
                    return c;
                }
                float[] all = Product(tallest);
                for (int m = 1; m < tallest; m++)
                {
                    float[] part = Product(m);
                    for (int i = 0; i < part.Length; i++)
                        if (BitConverter.SingleToInt32Bits(part[i]) != BitConverter.SingleToInt32Bits(all[i]))
                            Assert.Fail($"bits={bits} {n}x{k} acc={accumulate} epilogue={epilogue}: row {i / n} column {i % n} of a {m}-row product is {part[i]:R}, {all[i]:R} in a {tallest}-row one");
                }
            }
    }

    // A product's last column panel, whether a full tile, the narrow half tile under a mask or the full tile on a scratch
    // copy, gives each element the bits it has as an interior column of a wider product: every width from 1 to 2·NR + 1,
    // over two k blocks (C read back between them), with a partial row panel, with and without the epilogue, A stored
    // as it is multiplied and transposed. Up to 16 columns the 512-bit path reads A in place (GemmNarrow), where the
    // wider products pack it.
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    public void ColumnsGetTheSameBitsWhateverTheColumnCount(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        const int m = 13, k = 2 * 301, widest = 80;
        float[] a = TestData.Random(m * k, 41), b = TestData.Random(k * widest, 42), bias = TestData.Random(widest, 43), start = TestData.Random(m * widest, 44);
        foreach (bool transA in new[] { false, true })
        foreach (bool accumulate in new[] { false, true })
            foreach (bool epilogue in new[] { false, true })
            {
                float[] Product(int n)
                {
                    // C keeps the widest row stride, so a narrow product's masked stores must leave the columns past n alone.
                    var c = (float[])start.Clone();
                    Gemm.Multiply(transA, false, m, n, k, a, transA ? m : k, b, widest, c, widest, accumulate, epilogue ? bias.AsSpan(0, n) : default, epilogue, new Relu());
                    return c;
                }
                float[] all = Product(widest);
                for (int n = 1; n <= 2 * (bits / 16) + 1; n++)
                {
                    float[] part = Product(n);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < widest; j++)
                        {
                            float want = j < n ? all[i * widest + j] : start[i * widest + j];
                            if (BitConverter.SingleToInt32Bits(part[i * widest + j]) != BitConverter.SingleToInt32Bits(want))
                                Assert.Fail($"bits={bits} transA={transA} acc={accumulate} epilogue={epilogue}: C[{i},{j}] of a {n}-column product is {part[i * widest + j]:R}, expected {want:R}");
                        }
                }
            }
    }

    // alpha (BLAS's, with beta 0 or 1): each k block's product rounded, then scaled, then added, so a product one k block
    // deep gives C + alpha·P in float arithmetic on the product P that alpha = 1 writes, bit for bit (a fused SGD step is
    // then SGD's own w − lr·g); deeper, each block's product is scaled (within 1e-5). Every path: both vector widths and
    // the scalar one, one to three threads, the sizes above (tail rows, narrow and edge columns, single rows, shared
    // packing, split by rows), and the split by k blocks forced.
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(0)]
    public void AlphaScalesEachBlocksRoundedProductBeforeItIsAdded(int bits)
    {
        const float alpha = -0.037f;
        long savedSplitK = Gemm.SplitKMinWeights;
        try
        {
            foreach (bool splitK in new[] { false, true })
                foreach (int threads in new[] { 1, 2, 3 })
                    foreach (Op op in Enum.GetValues<Op>())
                        foreach (var (m, n, k) in Sizes)
                        {
                            if ((long)m * n * k > (bits == 0 ? 300_000 : 3_000_000) || (splitK && threads == 1)) continue;
                            Gemm.SplitKMinWeights = splitK ? 1 : savedSplitK;
                            using var _ = new KernelSwitches(bits, threads);
                            int lda = op == Op.Tn ? m : k, ldb = op == Op.Nt ? k : n;
                            float[] a = TestData.Random(m * k, 61), b = TestData.Random(k * n, 62), start = TestData.Random(m * n, 63);
                            void Product(float[] c, bool accumulate, float scale)
                            {
                                switch (op)
                                {
                                    case Op.Nn: Gemm.Nn(m, n, k, a, lda, b, ldb, c, n, accumulate, scale); break;
                                    case Op.Tn: Gemm.Tn(m, n, k, a, lda, b, ldb, c, n, accumulate, scale); break;
                                    default: Gemm.Nt(m, n, k, a, lda, b, ldb, c, n, accumulate, scale); break;
                                }
                            }
                            var p = new float[m * n];
                            Product(p, false, 1f);
                            foreach (bool accumulate in new[] { false, true })
                            {
                                var c = (float[])start.Clone();
                                Product(c, accumulate, alpha);
                                var expected = new float[m * n];
                                for (int i = 0; i < expected.Length; i++)
                                {
                                    float scaled = alpha * p[i];
                                    expected[i] = accumulate ? start[i] + scaled : scaled;
                                }
                                string what = $"{op} {m}x{n}x{k} bits={bits} threads={threads} splitK={splitK} acc={accumulate}";
                                if (GemmScratch.KBlock(k) >= k || bits == 0) TestData.SameBits(expected, c, what);
                                else TestData.Close(expected, c, 1e-5, 1e-5, what);
                            }
                        }
        }
        finally { Gemm.SplitKMinWeights = savedSplitK; }
    }

    // A transposed A up to GemmDriver.DirectAMaxDepth deep, and a small B at any height of C, are read where they lie
    // instead of packed: the same FMA chains, so the bits of the packed product. Whole panels of A in place and the
    // band's partial last panel packed (m not a multiple of 8 or 6), the few-column tile with two panels in place and
    // with its second panel the packed one, alpha with accumulation (a fused SGD step), one and two threads.
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    public void ReadingOperandsInPlaceGivesThePackedBits(int bits)
    {
        int savedDepth = GemmDriver.DirectAMaxDepth;
        long savedFloats = GemmDriver.DirectBMaxFloats;
        try
        {
            foreach (int threads in new[] { 1, 2 })
                foreach (var (transA, m, n, k) in new[] { (true, 300, 100, 32), (true, 785, 300, 64), (true, 37, 33, 40), (true, 27, 66, 9),
                    (true, 9, 4, 7), (true, 70, 17, 1), (false, 100, 70, 20), (false, 131, 36, 64) })
                {
                    using var _ = new KernelSwitches(bits, threads);
                    float[] a = TestData.Random(m * k, 71), b = TestData.Random(k * n, 72), start = TestData.Random(m * n, 73);
                    float[] Product(bool inPlace)
                    {
                        GemmDriver.DirectAMaxDepth = inPlace ? savedDepth : 0;
                        GemmDriver.DirectBMaxFloats = inPlace ? savedFloats : 0;
                        var c = (float[])start.Clone();
                        Gemm.Multiply(transA, false, m, n, k, a, transA ? m : k, b, n, c, n, accumulate: true, default, false, default(Identity), alpha: -0.03f);
                        return c;
                    }
                    TestData.SameBits(Product(inPlace: false), Product(inPlace: true), $"transA={transA} {m}x{n}x{k} bits={bits} threads={threads}");
                }
        }
        finally
        {
            GemmDriver.DirectAMaxDepth = savedDepth;
            GemmDriver.DirectBMaxFloats = savedFloats;
        }
    }

    // Split by k blocks (the weights outweigh the output): each later block's product kept apart and added in block
    // order with the epilogue after, so 2 and 3 threads give one thread's bits; odd sizes, A transposed or not,
    // accumulating or not, the epilogue with and without a bias, and block counts the threads do not divide (a part
    // then ends inside a block, whose columns two parts share).
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    public void SplitByKBlocksGivesTheBitsOfOneThread(int bits)
    {
        long saved = Gemm.SplitKMinWeights;
        Gemm.SplitKMinWeights = 1;
        try
        {
            // At least three k blocks at any KC (the 256-bit path's blocking has a deeper KC than the 512-bit one's).
            int kc = GemmScratch.KC;
            foreach (var (m, n, k) in new[] { (7, 17, 3 * kc + 5), (33, 300, 3 * kc + 1), (256, 300, 4 * kc - 8), (5, 70, 4 * kc), (2, 9, 8 * kc + 1), (64, 300, 5 * kc - 3) })
                foreach (bool transA in new[] { false, true })
                    foreach (bool accumulate in new[] { false, true })
                        foreach (int epilogue in new[] { 0, 1, 2 })
                        {
                            float[] a = TestData.Random(m * k, 51), b = TestData.Random(k * n, 52), bias = TestData.Random(n, 53), start = TestData.Random(m * n, 54);
                            float[] Product(int threads)
                            {
                                using var _ = new KernelSwitches(bits, threads);
                                // The path itself is taken wherever its masked loads and stores are in hardware.
                                bool hardware = bits == 512 ? System.Runtime.Intrinsics.X86.Avx512F.IsSupported : System.Runtime.Intrinsics.X86.Avx.IsSupported;
                                Assert.Equal(threads > 1 && hardware, GemmSplitK<Tanh>.Applies(bits == 512, false, m, n, k, threads));
                                var c = (float[])start.Clone();
                                Gemm.Multiply(transA, false, m, n, k, a, transA ? m : k, b, n, c, n, accumulate,
                                    epilogue == 2 ? bias : default, epilogue > 0, new Tanh());
                                return c;
                            }
                            float[] one = Product(1);
                            foreach (int threads in new[] { 2, 3 })
                                TestData.SameBits(one, Product(threads), $"{m}x{n}x{k} transA={transA} acc={accumulate} epilogue={epilogue} bits={bits} threads={threads}");
                        }
        }
        finally { Gemm.SplitKMinWeights = saved; }
    }

    // A single row split over threads by k blocks (a row one register block holds: each thread reads whole rows of B)
    // or by columns (wider rows, or one k block): 2 and 3 threads give one thread's bits; fewer k blocks than threads,
    // many more; accumulating or not, the epilogue with and without a bias.
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    public void SingleRowSplitOverThreadsGivesTheBitsOfOneThread(int bits)
    {
        int kc = GemmScratch.KC;
        foreach (var (n, k) in new[] { (300, 784), (300, 3 * kc + 5), (90, 2 * kc + 1), (70, 8 * kc + 3), (1000, 2 * kc + 1), (1000, kc - 3) })
            foreach (bool accumulate in new[] { false, true })
                foreach (int epilogue in new[] { 0, 1, 2 })
                {
                    float[] a = TestData.Random(k, 61), b = TestData.Random(k * n, 62), bias = TestData.Random(n, 63), start = TestData.Random(n, 64);
                    float[] Product(int threads)
                    {
                        using var _ = new KernelSwitches(bits, threads);
                        bool hardware = bits == 512 ? System.Runtime.Intrinsics.X86.Avx512F.IsSupported : System.Runtime.Intrinsics.X86.Avx.IsSupported;
                        Assert.Equal(GemmScratch.KBlock(k) < k && (n <= GemmRowVector.BlockColumns(bits == 512) || bits == 256) && hardware, RowVectorJob<Tanh>.SplitsK(bits == 512, n, k));
                        var c = (float[])start.Clone();
                        Gemm.Multiply(false, false, 1, n, k, a, k, b, n, c, n, accumulate, epilogue == 2 ? bias : default, epilogue > 0, new Tanh());
                        return c;
                    }
                    float[] one = Product(1);
                    foreach (int threads in new[] { 2, 3 })
                        TestData.SameBits(one, Product(threads), $"1x{n}x{k} acc={accumulate} epilogue={epilogue} bits={bits} threads={threads}");
                }
    }

    // A 256-bit row wider than a register block streams whole rows of B four at a time (GemmRowVector256.Stream): the
    // bits of the column blocks, for rows of 1 to 3 remainder k steps, a masked last vector, C added to and a bias + Tanh,
    // one k block and several; and close to a double-precision reference.
    [Fact]
    public void A256BitRowStreamedByWholeRowsHasTheBitsOfColumnBlocks()
    {
        int kc = GemmScratch.KC;
        foreach (var (n, k) in new[] { (97, 1), (97, 7), (104, 4), (300, 5), (300, 784), (805, kc + 9), (131, 2 * kc + 3) })
            foreach (bool accumulate in new[] { false, true })
                foreach (bool epilogue in new[] { false, true })
                {
                    float[] a = TestData.Random(k, 71), b = TestData.Random(k * n, 72), bias = TestData.Random(n, 73), start = TestData.Random(n, 74);
                    float[] Product(bool stream)
                    {
                        using var _ = new KernelSwitches(256, 1);
                        bool saved = GemmRowVector.Stream256;
                        GemmRowVector.Stream256 = stream;
                        try
                        {
                            var c = (float[])start.Clone();
                            Gemm.Multiply(false, false, 1, n, k, a, k, b, n, c, n, accumulate, epilogue ? bias : default, epilogue, new Tanh());
                            return c;
                        }
                        finally { GemmRowVector.Stream256 = saved; }
                    }
                    float[] streamed = Product(true);
                    string what = $"1x{n}x{k} acc={accumulate} epilogue={epilogue}";
                    TestData.SameBits(Product(false), streamed, what);
                    var expected = new float[n];
                    for (int j = 0; j < n; j++)
                    {
                        double sum = accumulate ? start[j] : 0;
                        for (int p = 0; p < k; p++) sum += (double)a[p] * b[p * n + j];
                        expected[j] = epilogue ? (float)Math.Tanh(sum + bias[j]) : (float)sum;
                    }
                    TestData.Close(expected, streamed, 1e-4, 1e-5, what);
                }
    }

    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    public void SameBitsWithOneAndTwoThreads(int bits)
    {
        foreach (var (op, m, n, k) in new[] { (Op.Nn, 256, 300, 784), (Op.Tn, 784, 300, 32), (Op.Nt, 32, 784, 300), (Op.Nn, 512, 10, 300), (Op.Tn, 1001, 13, 300), (Op.Nn, 33, 1000, 513), (Op.Nn, 1, 300, 784), (Op.Nn, 1, 1000, 200),
            (Op.Nn, 601, 70, 517), (Op.Tn, 2300, 41, 130), (Op.Nt, 601, 70, 517), (Op.Nn, 1, 385, 300), (Op.Nn, 64, 128, 3136), (Op.Nn, 57, 45, 1500),
            // Shared A over several slices of even k blocks (the slices must cut where one thread's blocks do).
            (Op.Nn, 601, 70, 1024), (Op.Tn, 1100, 40, 2000) })
        {
            int aLen = m * k, bLen = n * k;
            float[] a = TestData.Random(aLen, 21), b = TestData.Random(bLen, 22);
            float[] one = new float[m * n], two = new float[m * n];
            foreach (var (threads, c) in new[] { (1, one), (2, two) })
            {
                using var _ = new KernelSwitches(bits, threads);
                int lda = op == Op.Tn ? m : k, ldb = op == Op.Nt ? k : n;
                if (op == Op.Nn) Gemm.Nn(m, n, k, a, lda, b, ldb, c, n);
                else if (op == Op.Tn) Gemm.Tn(m, n, k, a, lda, b, ldb, c, n);
                else Gemm.Nt(m, n, k, a, lda, b, ldb, c, n);
            }
            for (int i = 0; i < one.Length; i++)
                if (BitConverter.SingleToInt32Bits(one[i]) != BitConverter.SingleToInt32Bits(two[i]))
                    Assert.Fail($"{op} {m}x{n}x{k} bits={bits}: element {i} differs between 1 thread ({one[i]:R}) and 2 ({two[i]:R})");
        }
    }

    [Fact]
    public void EmptyInnerDimensionGivesZerosOrKeepsC()
    {
        float[] c = { 1, 2, 3, 4 };
        Gemm.Nn(2, 2, 0, Array.Empty<float>(), 1, Array.Empty<float>(), 2, c, 2, accumulate: true);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, c);
        Gemm.Nn(2, 2, 0, Array.Empty<float>(), 1, Array.Empty<float>(), 2, c, 2);
        Assert.Equal(new float[4], c);
    }

    [Fact]
    public void TooShortSpansAreRejectedWithAMessage()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Nn(4, 4, 4, new float[15], 4, new float[16], 4, new float[16], 4));
        Assert.Contains("a has 15 floats", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Nn(4, 4, 4, new float[16], 4, new float[16], 4, new float[16], 3));
        Assert.Contains("ldc=3", ex.Message);
    }
}
