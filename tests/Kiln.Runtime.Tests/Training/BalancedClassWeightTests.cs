using System;
using System.Linq;
using Kiln;

namespace Kiln.Runtime.Tests.Training;

// ClassWeight.Balanced against scikit-learn's compute_class_weight("balanced", classes=np.unique(y), y=y):
// weight_c = n_samples / (n_classes · count_c).
public class BalancedClassWeightTests
{
    private static Dataset Sparse(params int[] labels) =>
        new(new float[labels.Length], labels.Select(c => (float)c).ToArray(), [1], 1);

    [Fact]
    public void MatchesScikitLearnOnAHandCase()
    {
        // compute_class_weight("balanced", classes=[0, 1], y=[0, 0, 0, 1]) == [0.6667, 2.0]
        var w = ClassWeight.Balanced(Sparse(0, 0, 0, 1));
        Assert.Equal([0, 1], w.Keys);
        Assert.Equal(4.0 / (2 * 3), w[0], 6);
        Assert.Equal(4.0 / (2 * 1), w[1], 6);
    }

    [Fact]
    public void CountsOnlyTheClassesPresent()
    {
        // np.unique(y) is [0, 2]: n_classes is 2, and class 1 gets no entry (Fit then weighs it 1).
        var w = ClassWeight.Balanced(Sparse(2, 0, 2));
        Assert.Equal([0, 2], w.Keys);
        Assert.Equal(3.0 / (2 * 1), w[0], 6);
        Assert.Equal(3.0 / (2 * 2), w[2], 6);
    }

    [Fact]
    public void EqualClassesWeighOne()
    {
        var w = ClassWeight.Balanced(Sparse(0, 1, 2, 2, 1, 0));
        Assert.All(w.Values, v => Assert.Equal(1f, v));
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void MatchesTheFormulaOnRandomLabels(ulong seed)
    {
        var rng = new Rng(seed);
        int n = 500 + rng.NextInt(500), k = 2 + rng.NextInt(8);
        // Skewed: class c is drawn about (c + 1)² times as often as class 0.
        int total = Enumerable.Range(1, k).Sum(c => c * c);
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            int r = rng.NextInt(total), c = 0;
            while (r >= (c + 1) * (c + 1)) r -= ++c * c;
            labels[i] = c;
        }
        var present = labels.Distinct().Order().ToArray();
        var w = ClassWeight.Balanced(labels);
        Assert.Equal(present, w.Keys);
        foreach (int c in present)
            Assert.Equal(n / ((double)present.Length * labels.Count(l => l == c)), w[c], 5);
        // Balanced: every class carries the same total weight, n / n_classes.
        foreach (int c in present)
            Assert.Equal((double)n / present.Length, labels.Count(l => l == c) * (double)w[c], 3);
        Assert.Equal(w, ClassWeight.Balanced(Sparse(labels)));
    }

    [Fact]
    public void ReadsOneHotTargetsByArgmax()
    {
        int[] labels = [3, 1, 1, 0, 3, 3, 3, 2];
        var oneHot = new float[labels.Length * 4];
        for (int i = 0; i < labels.Length; i++) oneHot[i * 4 + labels[i]] = 1;
        var data = new Dataset(new float[labels.Length], oneHot, [1], 4);
        Assert.Equal(ClassWeight.Balanced(labels), ClassWeight.Balanced(data));
    }

    [Fact]
    public void IgnoresSampleWeights()
    {
        var data = Sparse(0, 0, 1);
        Assert.Equal(ClassWeight.Balanced(data), ClassWeight.Balanced(data.WithSampleWeights([5f, 0f, 1f])));
    }

    [Fact]
    public void RejectsWhatIsNotAClassIndex()
    {
        var fraction = Assert.Throws<ArgumentException>(() => ClassWeight.Balanced(new Dataset(new float[2], [0f, 1.5f], [1], 1)));
        Assert.Equal("data", fraction.ParamName);
        Assert.Contains("sample 1 has label 1.5", fraction.Message);
        Assert.Throws<ArgumentException>(() => ClassWeight.Balanced(new Dataset(new float[1], [-1f], [1], 1)));
        Assert.Throws<ArgumentException>(() => ClassWeight.Balanced(new Dataset(new float[1], [float.NaN], [1], 1)));
        var negative = Assert.Throws<ArgumentException>(() => ClassWeight.Balanced([0, -2]));
        Assert.Contains("label 1 is -2", negative.Message);
        Assert.Throws<ArgumentException>(() => ClassWeight.Balanced(ReadOnlySpan<int>.Empty));
    }
}
