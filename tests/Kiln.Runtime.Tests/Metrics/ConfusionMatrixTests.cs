using System;
using System.IO;
using Kiln;
using ScottPlot;
using StbImageSharp;

namespace Kiln.Runtime.Tests.Metrics;

public class ConfusionMatrixTests
{
    [Fact]
    public void PrintsAnAlignedTableTrueClassesDown()
    {
        var cm = new ConfusionMatrix(2, [50, 2, 3, 45]);
        Assert.Equal(
            "true \\ predicted        0        1  support\n" +
            "               0       50        2       52\n" +
            "               1        3       45       48\n",
            cm.ToString());
        var named = cm.WithClassNames(["cat", "a very long name"]);
        Assert.Equal(
            "true \\ predicted               cat  a very long name           support\n" +
            "             cat                50                 2                52\n" +
            "a very long name                 3                45                48\n",
            named.ToString());
        Assert.Equal(100, cm.Total);
        Assert.Equal(0.95, cm.Accuracy, 1e-12);
        Assert.Equal(50.0 / 53, cm.Precision(0), 1e-12);
        Assert.Equal(45.0 / 48, cm.Recall(1), 1e-12);
        Assert.Equal(new long[,] { { 50, 2 }, { 3, 45 } }, cm.ToArray());
    }

    [Fact]
    public void RejectsCountsThatDoNotMakeASquare()
    {
        Assert.Throws<ArgumentException>(() => new ConfusionMatrix(2, [1, 2, 3]));
        Assert.Throws<ArgumentException>(() => new ConfusionMatrix(2, [1, 2, 3, -4]));
        Assert.Throws<ArgumentException>(() => new ConfusionMatrix(2, [1, 2, 3, 4], ["one"]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConfusionMatrix(2, [1, 2, 3, 4])[2, 0]);
    }

    [Fact]
    public void ClassNamesFromTheModelCallLabelTheTable()
    {
        var model = new Training.IdentityModel(3, Loss.SparseCategoricalCrossentropy);
        var data = new Dataset([0.8f, 0.1f, 0.1f, 0.2f, 0.7f, 0.1f, 0.6f, 0.3f, 0.1f], [0, 1, 2], [3], 1);
        var cm = model.ConfusionMatrix(data, classNames: ["T-shirt", "Trouser", "Bag"]);
        Assert.Equal("Bag", cm.Label(2));
        Assert.Equal(1, cm[2, 0]);
        Assert.Contains("T-shirt", cm.ToString());
        Assert.Throws<ArgumentException>(() => model.ConfusionMatrix(data, classNames: ["only one"]));
    }

    [Fact]
    public void HeatMapColoursEachCellByItsCountWithTheFirstTrueClassOnTop()
    {
        var cm = new ConfusionMatrix(3, [9, 0, 1, 2, 5, 0, 0, 0, 7], ["a", "b", "c"]);
        const int width = 640, height = 520;
        var plot = ConfusionMatrixPlot.Create(cm, normalize: false, title: "test");
        byte[] png = plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
        var image = ImageResult.FromMemory(png, ColorComponents.RedGreenBlue);
        Assert.Equal(width, image.Width);
        Assert.Equal(height, image.Height);
        var colormap = new ScottPlot.Colormaps.Viridis();
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                // Off the centre, where the count's text is drawn: a quarter cell up and left.
                var centre = ConfusionMatrixPlot.CellCenter(cm, i, j);
                var p = plot.GetPixel(new Coordinates(centre.X - 0.3, centre.Y + 0.3));
                int x = (int)p.X, y = (int)p.Y, at = (y * width + x) * 3;
                var expected = colormap.GetColor(cm[i, j] / 9.0);
                Assert.True(Math.Abs(image.Data[at] - expected.R) <= 3 && Math.Abs(image.Data[at + 1] - expected.G) <= 3 && Math.Abs(image.Data[at + 2] - expected.B) <= 3,
                    $"cell ({i}, {j}) at pixel ({x}, {y}) is ({image.Data[at]}, {image.Data[at + 1]}, {image.Data[at + 2]}), expected {expected} for {cm[i, j]}");
            }
        // True class 0 is the top row: its cell lies above class 2's.
        Assert.True(plot.GetPixel(ConfusionMatrixPlot.CellCenter(cm, 0, 0)).Y < plot.GetPixel(ConfusionMatrixPlot.CellCenter(cm, 2, 0)).Y);
    }

    [Fact]
    public void SavePngWritesTheFileAtTheAskedSizeAndNormalizes()
    {
        var cm = new ConfusionMatrix(2, [3, 1, 0, 4]);
        string dir = Path.Combine(Path.GetTempPath(), "kiln-cm-" + Guid.NewGuid().ToString("N"));
        try
        {
            string path = Path.Combine(dir, "sub", "cm.png");
            cm.SavePng(path, 500, 400, normalize: true);
            var image = ImageResult.FromMemory(File.ReadAllBytes(path), ColorComponents.RedGreenBlue);
            Assert.Equal((500, 400), (image.Width, image.Height));
            Assert.Equal(0.75, ConfusionMatrixPlot.Value(cm, 0, 0, normalize: true), 1e-12);
            Assert.Equal(1.0, ConfusionMatrixPlot.Value(cm, 1, 1, normalize: true), 1e-12);
            cm.SavePng(path);
            image = ImageResult.FromMemory(File.ReadAllBytes(path), ColorComponents.RedGreenBlue);
            Assert.Equal(ConfusionMatrixPlot.Size(cm, 0, 0), (image.Width, image.Height));
            Assert.Single(Directory.GetFiles(Path.Combine(dir, "sub")));   // no temporary file left
            Assert.Throws<ArgumentOutOfRangeException>(() => cm.SavePng(path, 50, 50));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
