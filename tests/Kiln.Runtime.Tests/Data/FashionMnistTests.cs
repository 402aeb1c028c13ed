using System;
using System.IO;
using Kiln;

namespace Kiln.Runtime.Tests.Data;

public sealed class FashionMnistTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kiln-fmnist-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void WriteSet(string prefix, int count, bool gzip, int labelCount = -1, byte maxLabel = 9)
    {
        var images = new byte[count * 28 * 28];
        for (int i = 0; i < images.Length; i++) images[i] = (byte)(i % 256);
        labelCount = labelCount < 0 ? count : labelCount;
        var labels = new byte[labelCount];
        for (int i = 0; i < labelCount; i++) labels[i] = (byte)(i % (maxLabel + 1));
        var img = IdxTests.IdxBytes([count, 28, 28], images);
        var lab = IdxTests.IdxBytes([labelCount], labels);
        string ext = gzip ? ".gz" : "";
        File.WriteAllBytes(Path.Combine(_dir, $"{prefix}-images-idx3-ubyte{ext}"), gzip ? IdxTests.Gzip(img) : img);
        File.WriteAllBytes(Path.Combine(_dir, $"{prefix}-labels-idx1-ubyte{ext}"), gzip ? IdxTests.Gzip(lab) : lab);
    }

    [Fact]
    public void LoadsGzipAndRawFilesFromADirectory()
    {
        WriteSet("train", 12, gzip: true);
        WriteSet("t10k", 5, gzip: false);
        var (train, test) = FashionMnist.Load(_dir);
        Assert.Equal(12, train.Count);
        Assert.Equal(5, test.Count);
        Assert.Equal([28, 28], train.SampleShape);
        Assert.Equal(1, train.TargetSize);
        Assert.Equal(255f, train.Features[255]); // raw pixel values, not scaled
        Assert.Equal(3f, train.Targets[3]);
    }

    [Fact]
    public void MissingFilesSayHowToInstall()
    {
        WriteSet("train", 2, gzip: true);
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(_dir));
        Assert.Contains("sudo apt-get install -y dataset-fashion-mnist", e.Message);
        Assert.Contains("--data DIR", e.Message);
        Assert.Contains("t10k-images-idx3-ubyte", e.Message);

        var e2 = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(Path.Combine(_dir, "nope")));
        Assert.Contains("does not exist", e2.Message);
        Assert.Contains("sudo apt-get install -y dataset-fashion-mnist", e2.Message);
    }

    [Fact]
    public void ImageAndLabelCountsMustAgree()
    {
        WriteSet("train", 4, gzip: true, labelCount: 3);
        WriteSet("t10k", 2, gzip: true);
        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(_dir));
        Assert.Contains("train-labels-idx1-ubyte.gz", e.Message);
        Assert.Contains("4 images", e.Message);
    }

    [Fact]
    public void LabelsOutOfRangeNameTheFile()
    {
        WriteSet("train", 20, gzip: false, maxLabel: 11);
        WriteSet("t10k", 2, gzip: true);
        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(_dir));
        Assert.Contains("train-labels-idx1-ubyte", e.Message);
        Assert.Contains("label 10", e.Message);
    }

    [Fact]
    public void RealDatasetFromTheDebianPackage()
    {
        // CI installs the package; a missing directory is a failure, not a skip, so the real
        // loader never goes untested unnoticed.
        Assert.True(Directory.Exists(FashionMnist.DefaultDirectory),
            $"{FashionMnist.DefaultDirectory} is missing: install it with `sudo apt-get install -y dataset-fashion-mnist`.");
        var (train, test) = FashionMnist.Load();
        Assert.Equal(60000, train.Count);
        Assert.Equal(10000, test.Count);
        Assert.Equal(784, train.SampleSize);
        var perClass = new int[10];
        foreach (float label in train.Targets)
        {
            Assert.InRange(label, 0f, 9f);
            Assert.Equal(MathF.Floor(label), label);
            perClass[(int)label]++;
        }
        Assert.All(perClass, c => Assert.Equal(6000, c)); // Fashion-MNIST is balanced
        float min = float.MaxValue, max = float.MinValue;
        foreach (float p in test.Features) { min = MathF.Min(min, p); max = MathF.Max(max, p); }
        Assert.Equal(0f, min);
        Assert.Equal(255f, max);
        Assert.Equal(9f, train.Targets[0]); // the first training image is an ankle boot
    }
}
