using Kiln.Tests;
using System;
using System.Linq;
using Kiln;
using Kiln.Runtime.Tests.Training;
using static Kiln.Runtime.Tests.Metrics.MetricReference;

namespace Kiln.Runtime.Tests.Metrics;

// The identity models' outputs are their inputs, so each test chooses exactly what the metrics see.
public class ClassificationMetricTests
{
    private static EvaluationResult Evaluate(Model model, float[] outputs, float[] targets, params Metric[] metrics)
    {
        model.Metrics = metrics;
        return model.Evaluate(new Dataset(outputs, targets, model.Description.InputShape, model.TargetSize));
    }

    // ---- Hand-checkable cases, most from Keras' docstrings ----

    [Fact]
    public void PrecisionAndRecallOfASigmoidAsKerasDocuments()
    {
        // keras.metrics.Precision().update_state([0, 1, 1, 1], [1, 0, 1, 1]) → 2/3; Recall → 2/3.
        var r = Evaluate(new IdentityModel(1, Loss.BinaryCrossentropy), [1, 0, 1, 1], [0, 1, 1, 1], Metric.Precision(), Metric.Recall());
        Assert.Equal(2.0 / 3, r["precision"], 1e-6);
        Assert.Equal(2.0 / 3, r["recall"], 1e-6);
        // A threshold of 0.6 on [0.7, 0.55, 0.9, 0.2] vs [1, 1, 0, 1]: predicted {0, 2}; tp 1, fp 1, fn 2.
        r = Evaluate(new IdentityModel(1, Loss.BinaryCrossentropy), [0.7f, 0.55f, 0.9f, 0.2f], [1, 1, 0, 1],
            Metric.Precision(0.6), Metric.Recall(0.6));
        Assert.Equal(0.5, r["precision"], 1e-6);
        Assert.Equal(1.0 / 3, r["recall"], 1e-6);
    }

    [Fact]
    public void PrecisionWithNothingPredictedIsZeroNotNaN()
    {
        var r = Evaluate(new IdentityModel(1, Loss.BinaryCrossentropy), [0.1f, 0.2f], [1, 0], Metric.Precision(), Metric.Recall());
        Assert.Equal(0f, r["precision"]);
        Assert.Equal(0f, r["recall"]);
    }

    [Fact]
    public void TopKAndClassIdPickEntriesAsKerasDoes()
    {
        // Rows [0.1, 0.5, 0.4], [0.3, 0.3, 0.4]; one-hot targets class 2, class 0.
        float[] scores = [0.1f, 0.5f, 0.4f, 0.3f, 0.3f, 0.4f];
        float[] targets = [0, 0, 1, 1, 0, 0];
        var model = new IdentityModel(3, Loss.CategoricalCrossentropy);
        // top_k=1: predicted {1} and {2}: both wrong → precision 0, recall 0.
        // top_k=2: {1, 2} and {2, 0} (0.3 ties with 0.3: index 0 wins): tp = 2 (class 2, class 0), fp 2 → 0.5; recall 2/2.
        // class_id=2, threshold 0.5: 0.4 and 0.4 are not above 0.5 → tp 0, fn 1 → recall 0.
        // class_id=2 with top_k=2: predicted in both rows; true in row 0 only → precision 1/2, recall 1.
        var r = Evaluate(model, scores, targets,
            Metric.Precision(topK: 1, name: "p1"), Metric.Recall(topK: 1, name: "r1"),
            Metric.Precision(topK: 2, name: "p2"), Metric.Recall(topK: 2, name: "r2"),
            Metric.Recall(classId: 2, name: "r_c2"),
            Metric.Precision(topK: 2, classId: 2, name: "p_c2_k2"), Metric.Recall(topK: 2, classId: 2, name: "r_c2_k2"));
        Assert.Equal(0f, r["p1"]);
        Assert.Equal(0f, r["r1"]);
        Assert.Equal(0.5, r["p2"], 1e-6);
        Assert.Equal(1.0, r["r2"], 1e-6);
        Assert.Equal(0f, r["r_c2"]);
        Assert.Equal(0.5, r["p_c2_k2"], 1e-6);
        Assert.Equal(1.0, r["r_c2_k2"], 1e-6);
    }

    [Fact]
    public void F1ScoreMatchesKerasDocstringPerClass()
    {
        // keras.metrics.F1Score(threshold=0.5) on this example → [0.5, 0.8, 0.6666667].
        float[] yTrue = [1, 1, 1, 1, 0, 0, 1, 1, 0];
        float[] yPred = [0.2f, 0.6f, 0.7f, 0.2f, 0.6f, 0.6f, 0.6f, 0.8f, 0.0f];
        var r = Evaluate(new IdentityModel(3, Loss.BinaryCrossentropy), yPred, yTrue, Metric.F1Score(threshold: 0.5));
        Assert.Equal(["f1_score_0", "f1_score_1", "f1_score_2"], r.Values.Select(v => v.Key));
        Assert.Equal(0.5, r["f1_score_0"], 1e-5);
        Assert.Equal(0.8, r["f1_score_1"], 1e-5);
        Assert.Equal(2.0 / 3, r["f1_score_2"], 1e-5);
    }

    [Fact]
    public void AucWithThreeThresholdsAsKerasDocuments()
    {
        // keras.metrics.AUC(num_thresholds=3).update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]) → 0.75.
        var r = Evaluate(new IdentityModel(1, Loss.BinaryCrossentropy), [0, 0.5f, 0.3f, 0.9f], [0, 0, 1, 1], Metric.Auc(3));
        Assert.Equal(0.75, r["auc"], 1e-6);
    }

    [Fact]
    public void PrAucInterpolatesByHand()
    {
        // Thresholds [-ε, 0.5, 1+ε]; y_pred [0.2, 0.6, 0.7, 0.9], y_true [0, 1, 0, 1].
        // tp = [2, 2, 0], fp = [2, 1, 0], P = [4, 3, 0].
        // Interval 0: dTP 0 → 0. Interval 1: dTP 2, dP 3, slope 2/3, intercept 0 - 2/3·0 = 0,
        // p ratio 1 (P_B = 0) → (2/3 · 2) / (tp+fn = 2) = 2/3.
        var r = Evaluate(new IdentityModel(1, Loss.BinaryCrossentropy), [0.2f, 0.6f, 0.7f, 0.9f], [0, 1, 0, 1], Metric.Auc(3, AucCurve.PR));
        Assert.Equal(2.0 / 3, r["auc"], 1e-6);
    }

    [Fact]
    public void MeanIoUAsKerasDocuments()
    {
        // keras.metrics.MeanIoU(num_classes=2).update_state([0, 0, 1, 1], [0, 1, 0, 1]) → 0.33333.
        float[] predictedOneHot = [1, 0, 0, 1, 1, 0, 0, 1];
        var r = Evaluate(new IdentityModel(2, Loss.SparseCategoricalCrossentropy), predictedOneHot, [0, 0, 1, 1], Metric.MeanIoU(2));
        Assert.Equal(1.0 / 3, r["mean_io_u"], 1e-6);
        // A class never true nor predicted does not count: 3 classes, only 0 and 1 seen → still 1/3.
        float[] threeClasses = [1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0];
        r = Evaluate(new IdentityModel(3, Loss.SparseCategoricalCrossentropy), threeClasses, [0, 0, 1, 1], Metric.MeanIoU());
        Assert.Equal(1.0 / 3, r["mean_io_u"], 1e-6);
    }

    [Fact]
    public void MeanIoUIgnoresAClassAndCountsEveryPixelOfASegmentationMap()
    {
        // Output (2, 2, 3): four pixels of three classes; one-hot targets of the same shape.
        var model = new ShapedIdentityModel([2, 2, 3], Loss.CategoricalCrossentropy);
        float[] scores = [0.8f, 0.1f, 0.1f, 0.1f, 0.8f, 0.1f, 0.1f, 0.1f, 0.8f, 0.8f, 0.1f, 0.1f];  // predicted 0, 1, 2, 0
        float[] targets = [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1];                                   // true      0, 1, 1, 2
        // Class 0: ∩1 ∪2 → 1/2; class 1: ∩1 ∪2 → 1/2; class 2: ∩0 ∪2 → 0 → mean 1/3.
        var r = Evaluate(model, scores, targets, Metric.MeanIoU(), Metric.MeanIoU(ignoreClass: 2, name: "iou_no_2"));
        Assert.Equal(1.0 / 3, r["mean_io_u"], 1e-6);
        // Without pixels whose truth is 2: true 0, 1, 1 vs predicted 0, 1, 2 → class 0: 1/1; class 1: 1/2; class 2: 0/1 → 1/2.
        Assert.Equal(0.5, r["iou_no_2"], 1e-6);
        var cm = model.ConfusionMatrix(new Dataset(scores, targets, [2, 2, 3], 12));
        Assert.Equal(4, cm.Total);
        Assert.Equal(1, cm[2, 0]);
        Assert.Equal(1, cm[1, 2]);
    }

    // ---- Against the naive references on random data, streamed in batches with a partial last one ----

    [Theory]
    [InlineData(4, 1)]
    [InlineData(7, 2)]
    public void PrecisionAndRecallMatchKerasDefinitionOnRandomData(int batchSize, int seed)
    {
        const int classes = 5, n = 103;
        var (scores, labels) = Random(n, classes, seed);
        float[] oneHot = OneHot(labels, classes);
        var model = new IdentityModel(classes, Loss.CategoricalCrossentropy, batchSize: batchSize);
        var r = Evaluate(model, scores, oneHot,
            Metric.Precision(), Metric.Recall(), Metric.Precision(0.3, name: "p03"), Metric.Recall(topK: 2, name: "r_k2"),
            Metric.Precision(topK: 3, name: "p_k3"), Metric.Precision(classId: 1, name: "p_c1"), Metric.Recall(0.2, classId: 4, name: "r_c4"));
        Assert.Equal(KerasPrecisionRecall(scores, oneHot, classes, recall: false), r["precision"], 1e-6);
        Assert.Equal(KerasPrecisionRecall(scores, oneHot, classes, recall: true), r["recall"], 1e-6);
        Assert.Equal(KerasPrecisionRecall(scores, oneHot, classes, false, 0.3f), r["p03"], 1e-6);
        Assert.Equal(KerasPrecisionRecall(scores, oneHot, classes, true, topK: 2), r["r_k2"], 1e-6);
        Assert.Equal(KerasPrecisionRecall(scores, oneHot, classes, false, topK: 3), r["p_k3"], 1e-6);
        Assert.Equal(KerasPrecisionRecall(scores, oneHot, classes, false, classId: 1), r["p_c1"], 1e-6);
        Assert.Equal(KerasPrecisionRecall(scores, oneHot, classes, true, 0.2f, classId: 4), r["r_c4"], 1e-6);

        // Sparse targets read as their one-hot rows give the same values.
        var sparse = Evaluate(new IdentityModel(classes, Loss.SparseCategoricalCrossentropy, batchSize: batchSize), scores, labels,
            Metric.Precision(), Metric.Recall(topK: 2, name: "r_k2"));
        Assert.Equal(r["precision"], sparse["precision"]);
        Assert.Equal(r["r_k2"], sparse["r_k2"]);
    }

    [Theory]
    [InlineData(4, 3)]
    [InlineData(16, 4)]
    public void F1AveragesMatchScikitLearnOnRandomData(int batchSize, int seed)
    {
        const int classes = 4, n = 150;
        var (scores, labels) = Random(n, classes, seed);
        int[] yTrue = labels.Select(l => (int)l).ToArray();
        int[] yPred = ArgMax(scores, classes);
        var (_, _, f1, support) = Sklearn(yTrue, yPred, classes);
        var model = new IdentityModel(classes, Loss.SparseCategoricalCrossentropy, batchSize: batchSize);
        var r = Evaluate(model, scores, labels,
            Metric.F1Score(), Metric.F1Score(MetricAverage.Micro, name: "micro"), Metric.F1Score(MetricAverage.Macro, name: "macro"),
            Metric.F1Score(MetricAverage.Weighted, name: "weighted"), Metric.FBetaScore(2, MetricAverage.Macro));
        // Keras' epsilons move the scores by about 1e-7.
        for (int c = 0; c < classes; c++) Assert.Equal(f1[c], r[$"f1_score_{c}"], 1e-5);
        double accuracy = yTrue.Zip(yPred).Count(p => p.First == p.Second) / (double)n;
        Assert.Equal(accuracy, r["micro"], 1e-5);   // single-label micro F1 is the accuracy
        Assert.Equal(f1.Average(), r["macro"], 1e-5);
        Assert.Equal(f1.Zip(support).Sum(p => p.First * p.Second) / n, r["weighted"], 1e-5);
        // F-beta with β = 2 from scikit-learn's precision and recall.
        var (precision, recall, _, _) = Sklearn(yTrue, yPred, classes);
        double f2 = Enumerable.Range(0, classes).Average(c => precision[c] + recall[c] == 0 ? 0 : 5 * precision[c] * recall[c] / (4 * precision[c] + recall[c]));
        Assert.Equal(f2, r["fbeta_score"], 1e-5);
    }

    [Theory]
    [InlineData(4, 5)]
    [InlineData(9, 6)]
    public void AucMatchesKerasThresholdedDefinitionAndTheExactArea(int batchSize, int seed)
    {
        const int n = 301;
        var rng = new Random(seed);
        var scores = new float[n];
        var targets = new float[n];
        for (int i = 0; i < n; i++)
        {
            targets[i] = rng.NextDouble() < 0.4 ? 1 : 0;
            // Positives score higher on average; a few values sit exactly on 0 and 1.
            scores[i] = i % 50 == 0 ? i % 100 == 0 ? 0 : 1 : (float)(1 / (1 + Math.Exp(-(Gaussian(rng) + 1.2 * targets[i]))));
        }
        var positive = targets.Select(t => t != 0).ToArray();
        var model = new IdentityModel(1, Loss.BinaryCrossentropy, batchSize: batchSize);
        var r = Evaluate(model, scores, targets, Metric.Auc(), Metric.Auc(curve: AucCurve.PR, name: "pr"), Metric.Auc(50, name: "auc50"));
        Assert.Equal(KerasAuc(scores, positive), r["auc"], 1e-6);
        Assert.Equal(KerasAuc(scores, positive, pr: true), r["pr"], 1e-6);
        Assert.Equal(KerasAuc(scores, positive, 50), r["auc50"], 1e-6);
        // The thresholded estimate is close to scikit-learn's exact roc_auc_score.
        Assert.Equal(ExactRocAuc(scores, positive), r["auc"], 0.01);
    }

    [Theory]
    [InlineData(4, 7)]
    [InlineData(9, 8)]
    public void AucWithExplicitThresholdsMatchesKerasDefinition(int batchSize, int seed)
    {
        const int n = 203;
        var rng = new Random(seed);
        var scores = new float[n];
        var targets = new float[n];
        for (int i = 0; i < n; i++)
        {
            targets[i] = rng.NextDouble() < 0.4 ? 1 : 0;
            // Some values sit exactly on a threshold: positive only strictly above it.
            scores[i] = i % 20 == 0 ? 0.3f : i % 33 == 0 ? 0.05f : (float)(1 / (1 + Math.Exp(-(Gaussian(rng) + 1.2 * targets[i]))));
        }
        var positive = targets.Select(t => t != 0).ToArray();
        double[] uneven = [0.9, 0.05, 0.3, 0.5, 0.7], even = [0.75, 0.25, 0.5];
        var model = new IdentityModel(1, Loss.BinaryCrossentropy, batchSize: batchSize);
        var r = Evaluate(model, scores, targets, Metric.Auc(uneven), Metric.Auc(uneven, AucCurve.PR, name: "pr"),
            Metric.Auc(uneven, summationMethod: AucSummation.Minoring, name: "minoring"), Metric.Auc(even, name: "even"), Metric.Auc(5, name: "five"));
        Assert.Equal(KerasAuc(scores, positive, uneven), r["auc"], 1e-6);
        Assert.Equal(KerasAuc(scores, positive, uneven, pr: true), r["pr"], 1e-6);
        Assert.Equal(KerasAuc(scores, positive, even), r["even"], 1e-6);
        Assert.Equal(r["five"], r["even"]); // evenly spaced thresholds are num_thresholds = 5, as Keras treats them
        Assert.NotEqual(r["auc"], r["minoring"], 6);
        Assert.Throws<ArgumentOutOfRangeException>(() => Metric.Auc([0.5, 1.5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Metric.Auc([double.NaN]));
    }

    [Fact]
    public void MultiLabelAucAveragesOneCurvePerClass()
    {
        const int classes = 3, n = 90;
        var (scores, labels) = Random(n, classes, 7);
        float[] oneHot = OneHot(labels, classes);
        var model = new IdentityModel(classes, Loss.SparseCategoricalCrossentropy, batchSize: 8);
        var r = Evaluate(model, scores, labels, Metric.Auc(), Metric.Auc(multiLabel: true, name: "ovr"));
        // Flattened: every (sample, class) value is one point.
        Assert.Equal(KerasAuc(scores, oneHot.Select(t => t != 0).ToArray()), r["auc"], 1e-6);
        double perClass = Enumerable.Range(0, classes).Average(c =>
            KerasAuc(Enumerable.Range(0, n).Select(i => scores[i * classes + c]).ToArray(), labels.Select(l => l == c).ToArray()));
        Assert.Equal(perClass, r["ovr"], 1e-6);
    }

    [Theory]
    [InlineData(4, 8)]
    [InlineData(32, 9)]
    public void MeanIoUAndConfusionMatrixMatchLabelCountsOnRandomData(int batchSize, int seed)
    {
        const int classes = 6, n = 77;
        var (scores, labels) = Random(n, classes, seed);
        int[] yTrue = labels.Select(l => (int)l).ToArray();
        int[] yPred = ArgMax(scores, classes);
        var model = new IdentityModel(classes, Loss.SparseCategoricalCrossentropy, batchSize: batchSize);
        var r = Evaluate(model, scores, labels, Metric.MeanIoU());
        Assert.Equal(MeanIoU(yTrue, yPred, classes), r["mean_io_u"], 1e-6);

        var cm = model.ConfusionMatrix(new Dataset(scores, labels, [classes], 1));
        Assert.Equal(classes, cm.Classes);
        for (int i = 0; i < classes; i++)
            for (int j = 0; j < classes; j++)
                Assert.Equal(Enumerable.Range(0, n).Count(s => yTrue[s] == i && yPred[s] == j), cm[i, j]);
        var (precision, recall, _, support) = Sklearn(yTrue, yPred, classes);
        for (int c = 0; c < classes; c++)
        {
            Assert.Equal(precision[c], cm.Precision(c), 1e-12);
            Assert.Equal(recall[c], cm.Recall(c), 1e-12);
            Assert.Equal(support[c], cm.Support(c));
        }
        Assert.Equal(model.Evaluate(new Dataset(scores, labels, [classes], 1))["mean_io_u"], (float)MeanIoU(yTrue, yPred, classes), 1e-6f);
        Assert.Equal(yTrue.Zip(yPred).Count(p => p.First == p.Second) / (double)n, cm.Accuracy, 1e-12);
    }

    // ---- Logits, binary outputs, several outputs ----

    [Fact]
    public void LogitOutputsAreReadAsTheProbabilitiesTheLossImplies()
    {
        const int classes = 4, n = 40;
        var (probabilities, labels) = Random(n, classes, 10);
        // log p is a logit vector whose softmax is p.
        float[] logits = probabilities.Select(p => MathF.Log(p)).ToArray();
        Metric[] Metrics() => [Metric.Precision(), Metric.Recall(0.3), Metric.Auc(), Metric.F1Score(MetricAverage.Macro), Metric.MeanIoU()];
        var onProbabilities = Evaluate(new IdentityModel(classes, Loss.SparseCategoricalCrossentropy), probabilities, labels, Metrics());
        var onLogits = Evaluate(new IdentityModel(classes, Loss.SparseCategoricalCrossentropy, fromLogits: true), logits, labels, Metrics());
        foreach (var (name, value) in onProbabilities.Values)
            Assert.Equal(value, onLogits[name], 1e-5f);

        // A single sigmoid's logit: positive above 0, i.e. a probability above 0.5.
        var binary = Evaluate(new IdentityModel(1, Loss.BinaryCrossentropy, fromLogits: true), [2f, -1f, 0.5f, -3f], [1, 1, 0, 0],
            Metric.Precision(), Metric.Recall(), Metric.F1Score(), Metric.MeanIoU());
        Assert.Equal(0.5, binary["precision"], 1e-6);
        Assert.Equal(0.5, binary["recall"], 1e-6);
        Assert.Equal(0.5, binary["f1_score"], 1e-5);     // one column: no per-class suffix
        // Confusion [[1, 1], [1, 1]] → IoU 1/3 for both classes.
        Assert.Equal(1.0 / 3, binary["mean_io_u"], 1e-6);
    }

    [Fact]
    public void MetricsOfOneOutputOfSeveralAreNamedAfterIt()
    {
        OutputInfo[] outputs = [new("class", [3], Loss.SparseCategoricalCrossentropy), new("size", [1], Loss.MeanSquaredError)];
        var model = new ShapedIdentityModel([4], Loss.SparseCategoricalCrossentropy, outputs: outputs);
        // Per sample: 3 class scores, then a size; targets: a label, then a size.
        float[] x = [0.7f, 0.2f, 0.1f, 5, 0.1f, 0.8f, 0.1f, 6, 0.3f, 0.3f, 0.4f, 7];
        float[] y = [0, 5, 2, 6, 2, 7];
        model.Metrics = [Metric.ForOutput("class", Metric.F1Score()), Metric.ForOutput("class", Metric.Precision(classId: 1))];
        var r = model.Evaluate(new Dataset(x, y, [4], 2));
        // Predicted 0, 1, 2 vs true 0, 2, 2: class 0 F1 1, class 1 F1 0 (fp), class 2: P 1, R 1/2 → 2/3.
        Assert.Equal(1, r["class_f1_score_0"], 1e-5);
        Assert.Equal(0, r["class_f1_score_1"], 1e-5);
        Assert.Equal(2.0 / 3, r["class_f1_score_2"], 1e-5);
        Assert.Equal(0f, r["class_precision"]);
        var cm = model.ConfusionMatrix(new Dataset(x, y, [4], 2), output: "class");
        Assert.Equal(1, cm[2, 1]);
        Assert.Equal(1, cm[2, 2]);
        Assert.Throws<ArgumentException>(() => model.ConfusionMatrix(new Dataset(x, y, [4], 2)));
    }

    // ---- Streaming: reset, epochs, History ----

    [Fact]
    public void EachEvaluationStartsFromZero()
    {
        var model = new IdentityModel(1, Loss.BinaryCrossentropy) { Metrics = [Metric.Precision(), Metric.Auc()] };
        var first = new Dataset([0.9f, 0.8f, 0.7f], [0, 0, 1], [1], 1);
        var second = new Dataset([0.9f, 0.2f, 0.7f, 0.6f, 0.1f], [1, 0, 1, 0, 1], [1], 1);
        model.Evaluate(first);
        var again = model.Evaluate(second);
        var fresh = new IdentityModel(1, Loss.BinaryCrossentropy) { Metrics = [Metric.Precision(), Metric.Auc()] }.Evaluate(second);
        Assert.Equal(fresh["precision"], again["precision"]);
        Assert.Equal(fresh["auc"], again["auc"]);
        Assert.Equal(2.0 / 3, again["precision"], 1e-6);
    }

    [Fact]
    public void FitReportsThemPerEpochAndForValidationUnderKerasNames()
    {
        const int classes = 3;
        var (scores, labels) = Random(30, classes, 11);
        var (validScores, validLabels) = Random(13, classes, 12);
        var model = new IdentityModel(classes, Loss.SparseCategoricalCrossentropy)
        {
            Metrics = [Metric.Accuracy, Metric.Precision(), Metric.Recall(), Metric.Auc(), Metric.F1Score(MetricAverage.Macro), Metric.MeanIoU()],
        };
        var train = new Dataset(scores, labels, [classes], 1);
        var valid = new Dataset(validScores, validLabels, [classes], 1);
        var history = model.Fit(train, 2, new Sgd(), validation: valid, shuffle: true, verbose: 0);
        Assert.Equal(["loss", "accuracy", "precision", "recall", "auc", "f1_score", "mean_io_u",
            "val_loss", "val_accuracy", "val_precision", "val_recall", "val_auc", "val_f1_score", "val_mean_io_u"], history.Names);
        var expected = model.Evaluate(train);
        var expectedValid = model.Evaluate(valid);
        foreach (string name in new[] { "precision", "recall", "auc", "f1_score", "mean_io_u" })
            for (int epoch = 0; epoch < 2; epoch++)
            {
                // The outputs do not change, so each epoch (shuffled) sees the same counts: reset, not accumulated.
                Assert.Equal(expected[name], history[name][epoch], 1e-6);
                Assert.Equal(expectedValid[name], history["val_" + name][epoch], 1e-6);
            }
    }

    [Fact]
    public void UpdatingAllocatesNothingAfterResolving()
    {
        const int classes = 5, batch = 8;
        var (scores, labels) = Random(batch, classes, 13);
        var model = new IdentityModel(classes, Loss.SparseCategoricalCrossentropy, fromLogits: true, batchSize: batch)
        {
            Metrics = [Metric.Precision(), Metric.Recall(topK: 2), Metric.F1Score(), Metric.FBetaScore(0.5, MetricAverage.Weighted),
                Metric.Auc(), Metric.Auc(curve: AucCurve.PR, multiLabel: true, name: "pr"), Metric.MeanIoU()],
        };
        var metrics = model.Metrics.ToArray();   // an array: foreach over the interface would allocate enumerators
        double check = 0;
        void Epoch()
        {
            foreach (var m in metrics) m.ResetState();
            for (int b = 0; b < 3; b++)
            {
                // Two full batches and a partial one, with the values read after each as Fit does.
                int n = b < 2 ? batch : 3;
                foreach (var m in metrics)
                {
                    m.Sum(scores.AsSpan(0, n * classes), labels.AsSpan(0, n), n, classes, 1);
                    check += m.StateResult();
                }
            }
        }
        WarmUp.Run(Epoch);
        var (allocated, workers) = WarmUp.Allocations(Epoch);
        Assert.True(check > 0);
        Assert.Equal(0, allocated);
        Assert.Equal(0, workers);
    }

    [Fact]
    public void FitWithStatefulMetricsAllocatesNothingPerBatch()
    {
        // As FitTests.NoAllocationPerBatch: 19 batches an epoch (the last of 12) and a validation pass.
        var train = FitTests.Blobs(300, 11);
        var valid = FitTests.Blobs(50, 12);
        var model = new LinearModel(4, 3, batchSize: 16, seed: 1)
        {
            Metrics = [Metric.Precision(), Metric.Auc(), Metric.F1Score(), Metric.MeanIoU()],
        };
        var optimizer = new Adam(0.01f);
        model.Fit(train, 1, optimizer, validation: valid, verbose: 0);

        // History reserves a double per column per epoch: loss + precision + auc + 3 F1 columns +
        // mean IoU, and their val_ copies, for 5 more epochs. Nothing else may grow.
        const long historyReserve = 14 * 5 * sizeof(double);
        long[] extra = WarmUp.ExtraForFiveEpochs(epochs => model.Fit(train, epochs, optimizer, validation: valid, verbose: 0), historyReserve);
        Assert.True(extra.Contains(historyReserve),
            $"5 extra epochs (95 batches) allocated {string.Join(", ", extra)} bytes (expected {historyReserve}, the history's reserve)");
    }

    // ---- Errors ----

    [Fact]
    public void MetricsThatDoNotFitTheOutputSayWhy()
    {
        var model = new IdentityModel(3, Loss.SparseCategoricalCrossentropy);
        var e = Assert.Throws<ArgumentException>(() => model.Metrics = [Metric.Precision(classId: 3)]);
        Assert.Contains("class_id 3", e.Message);
        Assert.Contains("IdentityModel", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Metrics = [Metric.MeanIoU(5)]);
        Assert.Contains("num_classes is 5", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Metrics = [Metric.Recall(topK: 4)]);
        Assert.Contains("top_k 4", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Metric.Auc(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Metric.Precision(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Metric.FBetaScore(0));
        // A label that is not a class index names the metric (Evaluate's data check catches it first).
        model.Metrics = [Metric.MeanIoU()];
        e = Assert.Throws<ArgumentException>(() => model.Metrics[0].Sum([1, 0, 0], [7], 1, 3, 1));
        Assert.Contains("mean_io_u", e.Message);
        Assert.Contains("7", e.Message);
    }

    [Fact]
    public void OneInstanceServesTwoModelsWithSeparateCounts()
    {
        var precision = Metric.Precision();
        var a = new IdentityModel(1, Loss.BinaryCrossentropy) { Metrics = [precision] };
        var b = new IdentityModel(1, Loss.BinaryCrossentropy) { Metrics = [precision] };
        Assert.NotSame(a.Metrics[0], b.Metrics[0]);
        Assert.Equal(1f, a.Evaluate(new Dataset([0.9f], [1], [1], 1))["precision"]);
        Assert.Equal(0f, b.Evaluate(new Dataset([0.9f], [0], [1], 1))["precision"]);

        // Per-class columns copied from another model get counts of their own too.
        var c3 = new IdentityModel(3, Loss.SparseCategoricalCrossentropy) { Metrics = [Metric.F1Score(), Metric.Recall()] };
        var d3 = new IdentityModel(3, Loss.SparseCategoricalCrossentropy) { Metrics = c3.Metrics };
        Assert.Equal(["f1_score_0", "f1_score_1", "f1_score_2", "recall"], d3.Metrics.Select(m => m.Name));
        var right = new Dataset([0.9f, 0.05f, 0.05f], [0], [3], 1);
        var wrong = new Dataset([0.9f, 0.05f, 0.05f], [1], [3], 1);
        Assert.Equal(1, c3.Evaluate(right)["f1_score_0"], 1e-5);
        Assert.Equal(0f, d3.Evaluate(wrong)["f1_score_0"]);
        Assert.Equal(1, c3.Evaluate(right)["f1_score_0"], 1e-5);
    }
}
