using System;
using System.IO;
using System.Linq;
using Kiln;

namespace Kiln.Runtime.Tests.Data;

public class ImageFolderTests
{
    private static readonly ImageFolderOptions Small = new() { TargetSize = (5, 6), Rescale = 1f, Threads = 2 };

    /// <summary>cats: 3 PNGs (one nested), dogs: 2 (BMP, JPEG), plus clutter that must be skipped.</summary>
    private static TempFolder Pets()
    {
        var t = new TempFolder();
        TestImages.WriteFlat(t["dogs/d1.bmp"], 200, 10, 10);
        TestImages.WriteFlat(t["dogs/d0.jpg"], 200, 20, 20);
        TestImages.WriteFlat(t["cats/c1.png"], 10, 100, 10);
        TestImages.WriteFlat(t["cats/c0.png"], 10, 110, 10);
        TestImages.WriteFlat(t["cats/more/c2.PNG"], 10, 120, 10);
        File.WriteAllText(t["cats/notes.txt"], "not an image");
        File.WriteAllText(t["dogs/.DS_Store"], "");
        TestImages.WriteFlat(t[".ipynb_checkpoints/x.png"], 0, 0, 0);
        return t;
    }

    [Fact]
    public void ClassesAreSortedSubfoldersAndFilesSortedByPath()
    {
        using var t = Pets();
        var folder = new ImageFolder(t.Path, Small);
        Assert.Equal(["cats", "dogs"], folder.ClassNames);
        Assert.Equal(0, folder.ClassIndices["cats"]);
        Assert.Equal(1, folder.ClassIndices["dogs"]);
        Assert.Equal(["c0.png", "c1.png", "c2.PNG", "d0.jpg", "d1.bmp"], folder.Files.Select(Path.GetFileName));
        Assert.Equal([0, 0, 0, 1, 1], folder.Labels);
        Assert.Equal(2, folder.NonImageFiles.Count);
        Assert.Equal("Found 5 images belonging to 2 classes. Skipped 2 non-image file(s).", folder.ToString());
        Assert.Equal([5, 6, 3], folder.SampleShape);
    }

    [Fact]
    public void ExplicitClassesSetTheLabelOrder()
    {
        using var t = Pets();
        var folder = new ImageFolder(t.Path, Small with { Classes = ["dogs", "cats"] });
        Assert.Equal(0, folder.ClassIndices["dogs"]);
        Assert.Equal([0, 0, 1, 1, 1], folder.Labels);
        var e = Assert.Throws<DirectoryNotFoundException>(() => new ImageFolder(t.Path, Small with { Classes = ["birds"] }));
        Assert.Contains("birds", e.Message);
    }

    [Fact]
    public void PngAndBmpDecodeExactlyAndJpegClosely()
    {
        using var t = new TempFolder();
        var rgb = TestImages.Rgb(6, 5, (x, y) => ((byte)(x * 40), (byte)(y * 50), (byte)(x + y)));
        TestImages.Write(t["a/p.png"], rgb, 6, 5);
        TestImages.Write(t["b/p.bmp"], rgb, 6, 5);
        TestImages.Write(t["c/p.jpg"], TestImages.Rgb(6, 5, (_, _) => (90, 160, 30)), 6, 5);
        var folder = new ImageFolder(t.Path, Small with { Rescale = 1 / 255f, ClassMode = ClassMode.Sparse });
        var x = new float[folder.SampleSize];
        var y = new float[1];
        for (int i = 0; i < 2; i++)
        {
            Assert.True(folder.TryRead(i, x, y));
            for (int j = 0; j < rgb.Length; j++) Assert.Equal(rgb[j] * (1 / 255f), x[j]); // Keras: x *= float32(1/255)
            Assert.Equal(i, y[0]);
        }
        Assert.True(folder.TryRead(2, x, y));
        for (int j = 0; j < x.Length; j += 3)
        {
            Assert.Equal(90 / 255f, x[j], 0.03f);
            Assert.Equal(160 / 255f, x[j + 1], 0.03f);
            Assert.Equal(30 / 255f, x[j + 2], 0.03f);
        }
    }

    [Fact]
    public void GrayscaleUsesPilLumaAndRgbReplicatesGrey()
    {
        using var t = new TempFolder();
        TestImages.WriteFlat(t["a/c.png"], 200, 100, 50);
        TestImages.Write(t["b/g.png"], Enumerable.Repeat((byte)77, 30).ToArray(), 6, 5, channels: 1);
        var gray = new ImageFolder(t.Path, Small with { ColorMode = ColorMode.Grayscale });
        Assert.Equal([5, 6, 1], gray.SampleShape);
        var x = new float[30];
        gray.TryRead(0, x, new float[2]);
        // PIL: (200·19595 + 100·38470 + 50·7471 + 32768) >> 16 = 124
        Assert.All(x, v => Assert.Equal(124f, v));
        var rgb = new ImageFolder(t.Path, Small);
        var x3 = new float[90];
        rgb.TryRead(1, x3, new float[2]);
        Assert.All(x3, v => Assert.Equal(77f, v));
        var rgba = new ImageFolder(t.Path, Small with { ColorMode = ColorMode.Rgba });
        var x4 = new float[120];
        rgba.TryRead(0, x4, new float[2]);
        Assert.Equal([200f, 100f, 50f, 255f], x4[..4]);
    }

    [Fact]
    public void ClassModes()
    {
        using var t = Pets();
        var x = new float[90];
        var categorical = new ImageFolder(t.Path, Small);
        var y2 = new float[2];
        categorical.TryRead(3, x, y2);
        Assert.Equal([0f, 1f], y2);
        var sparse = new ImageFolder(t.Path, Small with { ClassMode = ClassMode.Sparse });
        var y1 = new float[1];
        sparse.TryRead(4, x, y1);
        Assert.Equal(1f, y1[0]);
        Assert.Equal(1, new ImageFolder(t.Path, Small with { ClassMode = ClassMode.Binary }).TargetSize);
        TestImages.WriteFlat(t["zebras/z.png"], 1, 2, 3);
        var e = Assert.Throws<InvalidDataException>(() => new ImageFolder(t.Path, Small with { ClassMode = ClassMode.Binary }));
        Assert.Contains("exactly 2 classes", e.Message);
    }

    [Fact]
    public void ValidationSplitHoldsOutTheFirstFractionOfEachClassLikeKeras()
    {
        using var t = new TempFolder();
        for (int i = 0; i < 5; i++)
        {
            TestImages.WriteFlat(t[$"a/{i}.png"], 1, 1, 1, 2, 2);
            TestImages.WriteFlat(t[$"b/{i}.png"], 2, 2, 2, 2, 2);
        }
        var (train, valid) = ImageFolder.Split(t.Path, Small with { ValidationSplit = 0.4 });
        Assert.Equal(["0.png", "1.png", "0.png", "1.png"], valid.Files.Select(Path.GetFileName));
        Assert.Equal(["2.png", "3.png", "4.png", "2.png", "3.png", "4.png"], train.Files.Select(Path.GetFileName));
        Assert.Equal([0, 0, 0, 1, 1, 1], train.Labels);
        Assert.Throws<ArgumentException>(() => new ImageFolder(t.Path, Small, Subset.Validation));
    }

    [Fact]
    public void CorruptImageIsAnErrorNamingTheFile()
    {
        using var t = Pets();
        File.WriteAllBytes(t["cats/broken.jpg"], [0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3, 4, 5]);
        var folder = new ImageFolder(t.Path, Small);
        using var batches = folder.Batches();
        var e = Assert.Throws<InvalidDataException>(() => { while (batches.Next(out _)) { } });
        Assert.Contains(t["cats/broken.jpg"], e.Message);
        Assert.Contains("CorruptImagePolicy.Skip", e.Message);
    }

    [Fact]
    public void TruncatedPngIsAnErrorNamingTheFile()
    {
        using var t = Pets();
        var rgb = TestImages.Rgb(40, 40, (x, y) => ((byte)(x * 6), (byte)(y * 6), (byte)(x ^ y)));
        TestImages.Write(t["cats/whole.png"], rgb, 40, 40);
        var bytes = File.ReadAllBytes(t["cats/whole.png"]);
        File.WriteAllBytes(t["cats/cut.png"], bytes[..(bytes.Length / 2)]);
        var folder = new ImageFolder(t.Path, Small);
        int cut = folder.Files.ToList().IndexOf(t["cats/cut.png"]);
        var e = Assert.Throws<InvalidDataException>(() => folder.TryRead(cut, new float[90], new float[2]));
        Assert.StartsWith(t["cats/cut.png"], e.Message);
    }

    [Fact]
    public void SkipPolicyDropsCorruptFilesWithOneWarning()
    {
        using var t = Pets();
        File.WriteAllText(t["dogs/fake.png"], "this is text with a png name");
        var warnings = new StringWriter();
        var folder = new ImageFolder(t.Path, Small with { OnCorruptImage = CorruptImagePolicy.Skip, Warnings = warnings, BatchSize = 2 });
        Assert.Equal(6, folder.Count);
        using var batches = folder.Batches();
        for (int pass = 0; pass < 2; pass++)
        {
            int samples = 0;
            while (batches.Next(out var b))
            {
                samples += b.Count;
                foreach (int i in b.Indices) Assert.NotEqual(t["dogs/fake.png"], folder.Files[i]);
            }
            Assert.Equal(5, samples);
        }
        Assert.Equal([t["dogs/fake.png"]], folder.CorruptFiles);
        Assert.Single(warnings.ToString().Trim().Split('\n'));
        Assert.Contains(t["dogs/fake.png"], warnings.ToString());
        Assert.InRange(batches.Stats.Dropped, 2, 3); // the loaders may already be into the third pass
        Assert.Equal(5, folder.ToDataset().Count);
    }

    [Fact]
    public void CacheKeepsDecodedImagesAfterTheFirstPass()
    {
        using var t = Pets();
        var folder = new ImageFolder(t.Path, Small with { CacheImages = true, Shuffle = false });
        var first = folder.ToDataset();
        foreach (string f in folder.Files) File.Delete(f);
        var second = folder.ToDataset(); // would throw FileNotFoundException without the cache
        Assert.Equal(first.Features, second.Features);
        Assert.Equal(first.Targets, second.Targets);
    }

    [Fact]
    public void BatchesAreShuffledBySeedAndCoverEveryImage()
    {
        using var t = new TempFolder();
        for (int i = 0; i < 12; i++) TestImages.WriteFlat(t[$"{(i % 3 == 0 ? "a" : "b")}/{i:D2}.png"], (byte)i, 0, 0, 3, 3);
        var options = Small with { TargetSize = (3, 3), BatchSize = 5, Seed = 7, ClassMode = ClassMode.Sparse };
        int[] Order(ImageFolderOptions o)
        {
            using var b = new ImageFolder(t.Path, o).Batches();
            var seen = new System.Collections.Generic.List<int>();
            while (b.Next(out var batch))
                for (int r = 0; r < batch.Count; r++) seen.Add((int)batch.Features[r * 27]); // red value = file number
            return [.. seen];
        }
        var a = Order(options);
        Assert.Equal(Enumerable.Range(0, 12), a.OrderBy(v => v));
        Assert.Equal(a, Order(options with { Threads = 1 }));
        Assert.NotEqual(a, Order(options with { Seed = 8 }));
        Assert.Equal(new[] { 0, 3, 6, 9, 1, 2, 4, 5, 7, 8, 10, 11 }, Order(options with { Shuffle = false }));
    }

    [Fact]
    public void FolderErrorsSayWhatToDo()
    {
        using var t = new TempFolder();
        var missing = Assert.Throws<DirectoryNotFoundException>(() => new ImageFolder(t["nope"]));
        Assert.Contains(t["nope"], missing.Message);
        TestImages.WriteFlat(t["loose.png"], 1, 2, 3);
        var loose = Assert.Throws<InvalidDataException>(() => new ImageFolder(t.Path));
        Assert.Contains("own subfolder", loose.Message);
    }

    [Fact]
    public void LoaderResizesToTheTargetSize()
    {
        using var t = new TempFolder();
        var rgb = TestImages.Rgb(4, 4, (x, y) => ((byte)(10 * x + 50 * y), 0, 0));
        TestImages.Write(t["a.png"], rgb, 4, 4);
        var nearest = ImageLoader.Load(t["a.png"], 2, 2);
        // PIL nearest 4→2 takes source pixels 1 and 3 in each direction.
        Assert.Equal([60f, 80f, 160f, 180f], new[] { nearest[0], nearest[3], nearest[6], nearest[9] });
        var bilinear = ImageLoader.Load(t["a.png"], 2, 2, interpolation: Interpolation.Bilinear, rescale: 0.5f);
        // tf bilinear 4→2 averages source pixels 0 and 1 in each direction: (0 + 10 + 50 + 60) / 4 = 30, × 0.5.
        Assert.Equal(15f, bilinear[0]);
    }
}
