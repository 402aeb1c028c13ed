using System;
using System.IO;

namespace Kiln.Samples;

/// <summary>What the image samples train on: Fashion-MNIST with pixels scaled to [0, 1], the first 5,000 training images held out for validation.</summary>
internal static class FashionMnistImages
{
    /// <summary>The three sets, or null after printing why the files could not be read.</summary>
    public static (Dataset Train, Dataset Valid, Dataset Test)? Load(SampleOptions options)
    {
        Dataset trainAll, test;
        try
        {
            (trainAll, test) = FashionMnist.Load(options.DataDirectory);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
        {
            Console.Error.WriteLine(e.Message);
            return null;
        }
        var rescale = new Rescale(1 / 255f);
        return (rescale.Transform(trainAll.Skip(5000)), rescale.Transform(trainAll.Take(5000)), rescale.Transform(test));
    }
}
