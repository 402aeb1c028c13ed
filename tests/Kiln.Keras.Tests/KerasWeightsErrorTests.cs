using System;
using System.IO;
using System.Text;
using Kiln;

namespace Kiln.Keras.Tests;

/// <summary>
/// Files that do not fit, or are damaged, give one clear error that names the file, the layer and
/// the tensor, and leave every weight of the model as it was.
/// </summary>
public sealed class KerasWeightsErrorTests
{
    [Fact]
    public void AShapeMismatchNamesTheTensorAndBothShapes()
    {
        string message = Rejected(new WiderMlp(batchSize: 1), Fixtures.Path("mlp.keras2.h5"));
        Assert.Contains("mlp.keras2.h5", message);
        Assert.Contains("does not fit WiderMlp; nothing was loaded", message);
        Assert.Contains("tensor 'dense/kernel' is (6, 8) in the file ('/dense/dense/kernel:0') but (6, 9) in WiderMlp", message);
        Assert.Contains("tensor 'dense/bias' is (8) in the file", message);
        Assert.Contains("tensor 'dense_1/kernel' is (8, 5) in the file", message);   // every mismatch at once
    }

    [Fact]
    public void AShapeMismatchInAKeras3FileNamesItsVariablePath()
    {
        string message = Rejected(new WiderMlp(batchSize: 1), Fixtures.Path("mlp.weights.h5"));
        Assert.Contains("tensor 'dense/kernel' is (6, 8) in the file ('/layers/dense/vars/0') but (6, 9) in WiderMlp", message);
    }

    [Fact]
    public void ALayerMissingFromAKeras2FileIsCounted()
    {
        // DeeperMlp's names (dense .. dense_3) are not the file's, so layers pair by position, as in Keras.
        string message = Rejected(new DeeperMlp(batchSize: 1), Fixtures.Path("mlp.keras2.h5"));
        Assert.Contains("paired by position", message);
        Assert.Contains("the file has 3 layers with weights (dense, dense_1, dense_2), but DeeperMlp has 4 (dense, dense_1, dense_2, dense_3)", message);
    }

    [Fact]
    public void ALayerMissingFromAKeras3FileIsNamedWithItsKey()
    {
        string message = Rejected(new DeeperMlp(batchSize: 1), Fixtures.Path("cnn.weights.h5"));
        Assert.Contains("layer 'dense_1' (Dense) has weights, but the file has no 'layers/dense_1/vars'", message);
        Assert.Contains("the file has weights at '/layers/conv2d/vars', which match no layer of DeeperMlp", message);
        Assert.Contains("tensor 'dense/kernel' is (16, 3) in the file ('/layers/dense/vars/0') but (6, 8) in DeeperMlp", message);
    }

    [Fact]
    public void ASubclassedModelsFileWithoutNamesSaysWhy()
    {
        // Keras 3.0-3.5 saved layer 'dense' at /encoder/vars (its attribute), naming it nowhere.
        string message = Rejected(new KerasMlp(batchSize: 1), Fixtures.Path("mlp.subclassed-3.5.weights.h5"));
        Assert.Contains("layer 'dense' (Dense) has weights, but the file has no 'layers/dense/vars'", message);
        Assert.Contains("the file also has weights outside layers/ (/encoder/vars): a subclassed Keras model", message);
    }

    [Fact]
    public void AnExtraLayerInTheFileIsAnError()
    {
        string message = Rejected(new KerasMlp(batchSize: 1), Fixtures.Path("cnn.keras2.h5"));
        Assert.Contains("the file has 5 layers with weights (conv2d, batch_normalization, conv2d_1, batch_normalization_1, dense), but KerasMlp has 3", message);
    }

    [Fact]
    public void AMissingBiasIsAWeightCountMismatch()
    {
        string message = Rejected(new NoBiasMlp(batchSize: 1), Fixtures.Path("mlp.keras2.h5"));
        Assert.Contains("layer 'dense_1' (Dense) has 1 weight in NoBiasMlp (kernel) but 2 in the file at '/dense_1' (kernel, bias)", message);
    }

    [Fact]
    public void IntegerWeightsAreRefusedByTensor()
    {
        string message = Rejected(new KerasMlp(batchSize: 1), Fixtures.Path("mlp.int32.keras2.h5"));
        Assert.Contains("tensor 'dense/kernel': '/dense/dense/kernel:0' holds 32-bit integer values; Kiln reads float16, float32 and float64 weights", message);
    }

    [Fact]
    public void ByNameNeedsAFileThatRecordsNames()
    {
        string message = Rejected(new KerasCnn(batchSize: 1), Fixtures.Path("cnn.weights.h5"), byName: true);
        Assert.Contains("byName needs the layers' names", message);
    }

    [Fact]
    public void ByNameWithNoLayerInCommonIsAnError()
    {
        string message = Rejected(new RenamedMlp(batchSize: 1), Fixtures.Path("mlp.keras2.h5"), byName: true);
        Assert.Contains("no layer of the file (dense, dense_1, dense_2) has the name of a layer of RenamedMlp with weights (encoder, hidden, classifier)", message);
    }

    [Fact]
    public void ByNameStillChecksShapes()
    {
        string message = Rejected(new WiderMlp(batchSize: 1), Fixtures.Path("mlp.keras2.h5"), byName: true);
        Assert.Contains("tensor 'dense/kernel' is (6, 8) in the file", message);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(5000)]
    [InlineData(200)]     // bytes cut from the end, past the last dataset: only the superblock's length tells
    public void ATruncatedFileIsRefused(int keep)
    {
        string path = Fixtures.Copy("mlp.keras2.h5", $"truncated-{keep}.h5");
        byte[] bytes = File.ReadAllBytes(path);
        int length = keep == 200 ? bytes.Length - 200 : keep;
        File.WriteAllBytes(path, bytes[..length]);
        string message = Rejected(new KerasMlp(batchSize: 1), path);
        Assert.Contains($"truncated-{keep}.h5", message);
        Assert.Contains($"it is truncated: its HDF5 superblock says it ends at byte {bytes.Length}, but it has {length} bytes", message);
    }

    [Theory]
    [InlineData("TREE")]   // the root group's B-tree
    [InlineData("HEAP")]   // its name heap
    [InlineData("SNOD")]   // its symbol table node
    public void ACorruptFileIsRefusedNamingIt(string structure)
    {
        string path = Fixtures.Copy("mlp.keras2.h5", $"corrupt-{structure}.h5");
        byte[] bytes = File.ReadAllBytes(path);
        int at = bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(structure));
        Assert.True(at > 0);
        bytes.AsSpan(at, 16).Fill(0x5a);
        File.WriteAllBytes(path, bytes);
        string message = Rejected(new KerasMlp(batchSize: 1), path);
        Assert.Contains($"corrupt-{structure}.h5", message);
    }

    [Fact]
    public void AFileThatIsNotHdf5IsRefused()
    {
        string path = Path.Combine(Path.GetTempPath(), "kiln-keras-tests", "weights.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "dense/kernel: 0.1 0.2 0.3\n");
        string message = Rejected(new KerasMlp(batchSize: 1), path);
        Assert.Contains("it is not an HDF5 file", message);
    }

    [Fact]
    public void ATensorFlowCheckpointIsToldApart()
    {
        // Keras 2's save_weights("weights") without .h5 writes weights.index and weights.data-00000-of-00001.
        string path = Path.Combine(Path.GetTempPath(), "kiln-keras-tests", "weights.index");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        string message = Rejected(new KerasMlp(batchSize: 1), path);
        Assert.Contains("it is a TensorFlow checkpoint", message);
    }

    [Fact]
    public void AKerasArchiveWithoutWeightsIsRefused()
    {
        string path = Path.Combine(Path.GetTempPath(), "kiln-keras-tests", "config-only.keras");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Delete(path);
        using (var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create))
            using (var w = new StreamWriter(zip.CreateEntry("config.json").Open())) w.Write("{}");
        Assert.Contains("a .keras archive without model.weights.h5", Rejected(new KerasMlp(batchSize: 1), path));
    }

    [Fact]
    public void AKerasFileThatIsNotAZipIsRefused()
    {
        string path = Fixtures.Copy("mlp.keras2.h5", "renamed.keras");
        Assert.Contains("it is named .keras but is not a zip archive", Rejected(new KerasMlp(batchSize: 1), path));
    }

    [Fact]
    public void AnHdf5FileThatIsNotKerasIsRefused()
    {
        string message = Rejected(new KerasMlp(batchSize: 1), Fixtures.Path("not_keras.h5"));
        Assert.Contains("not_keras.h5", message);
        Assert.Contains("not a Keras weights file", message);
    }

    [Fact]
    public void AMissingFileIsFileNotFound()
    {
        var model = new KerasMlp(batchSize: 1);
        var e = Assert.Throws<FileNotFoundException>(() => model.LoadKerasWeights(Fixtures.Path("absent.weights.h5")));
        Assert.Contains("absent.weights.h5", e.Message);
    }

    private static string Rejected(Model model, string path, bool byName = false)
    {
        float[] before = Fixtures.Weights(model);
        var e = Assert.Throws<InvalidDataException>(() => model.LoadKerasWeights(path, byName));
        Assert.Equal(before, Fixtures.Weights(model));
        Assert.Contains(Path.GetFileName(path), e.Message);
        return e.Message;
    }
}
