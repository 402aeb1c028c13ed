using System;
using System.Collections.Generic;
using System.IO;

namespace Kiln;

/// <summary>
/// Keras' <c>TensorBoard</c> callback: event files that <c>tensorboard --logdir LOGDIR</c> shows as
/// curves. Each epoch writes <c>epoch_loss</c>, <c>epoch_accuracy</c>, ... and
/// <c>epoch_learning_rate</c> to <c>LOGDIR/train</c> and the validation values (without their
/// <c>val_</c> prefix) to <c>LOGDIR/validation</c>, at step = the 0-based epoch, as Keras does. With
/// <see cref="UpdateFrequency"/> N &gt; 0 it also writes <c>batch_loss</c>, ... every N batches at
/// step = batches trained so far, without allocating. Files are flushed after every epoch.
/// <para>
/// As Keras' <c>histogram_freq</c>, <see cref="HistogramFrequency"/> N &gt; 0 writes a histogram of
/// every weight tensor, trainable or not, every N epochs (epochs 0, N, 2N, ...) at step = epoch,
/// tagged <c>conv2d/kernel/histogram</c> (Keras' tag with the layer in front, so two layers'
/// kernels do not collide). As <c>write_graph</c> (on by default, as in Keras),
/// <see cref="WriteGraph"/> writes the model's layer graph once when training begins, for the
/// Graphs tab, with the layers Kiln fuses into one kernel grouped in a name scope. As
/// <c>write_images</c>, <see cref="WriteImages"/> draws the first layer's kernels (a Conv2D on
/// the image input: one tile per filter; a Dense on the flattened image: one tile per unit),
/// tagged <c>conv2d/kernel/image</c>, at the epochs histograms are written (every epoch when
/// <see cref="HistogramFrequency"/> is 0). All of these are in <c>LOGDIR/train</c>.
/// </para>
/// <para>
/// When asked (<see cref="ActivationHistograms"/>, or the layers named in
/// <see cref="ActivationLayers"/>), the histogram epochs also write a histogram of each layer's
/// output, tagged <c>dense/activations</c>, as Keras 1's <c>histogram_freq</c> did with
/// <c>layer.output</c>: on a fixed probe batch, the first batch of the first validation pass (Keras
/// read its <c>validation_data</c> too, and refused histograms without it), through one inference
/// forward pass after the epoch (<see cref="Model.Forward(ReadOnlySpan{float}, int, ILayerOutputObserver)"/>),
/// which changes nothing in training. A layer fused into the kernel of the layer after it
/// (<c>conv2d</c> and <c>batch_normalization</c> before <c>re_lu</c> in one conv + BN + ReLU kernel, as
/// the summary's Kernel column shows) has no output of its own: ask for the kernel's last layer.
/// </para>
/// </summary>
public sealed class TensorBoard : ICallback, IReleasesOnFailure
{
    private EventFileWriter? _train, _validation;
    private byte[][] _batchTags = [];
    private Histogram? _histogram;
    private List<WeightImages.Source> _images = [];
    private ActivationRecorder? _activations;
    private ProbeBatch? _probe;
    private static readonly byte[] LearningRateTag = EventFileWriter.Tag("epoch_learning_rate");

    /// <param name="logDir">The run folder; <c>train/</c> and <c>validation/</c> are created inside.</param>
    /// <param name="updateFrequency">0 writes per epoch only (Keras' 'epoch'); N writes batch scalars every N batches too (1 = Keras' 'batch').</param>
    /// <param name="histogramFrequency">Keras' <c>histogram_freq</c>: 0 writes no histograms; N writes weight histograms every N epochs.</param>
    /// <param name="writeGraph">Keras' <c>write_graph</c>: the model's layer graph for the Graphs tab.</param>
    /// <param name="writeImages">Keras' <c>write_images</c>: the first layer's kernels as pictures.</param>
    /// <param name="activationHistograms">With <paramref name="histogramFrequency"/> &gt; 0: also a histogram of every layer's output on the first validation batch (Keras 1's activation histograms).</param>
    /// <param name="activationLayers">Only these layers' outputs (names in <see cref="Model.Layers"/>); giving them turns <paramref name="activationHistograms"/> on.</param>
    public TensorBoard(string logDir = "logs", int updateFrequency = 0, int histogramFrequency = 0, bool writeGraph = true, bool writeImages = false,
        bool activationHistograms = false, IReadOnlyList<string>? activationLayers = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(logDir);
        if (updateFrequency < 0) throw new ArgumentOutOfRangeException(nameof(updateFrequency), updateFrequency, "0 (per epoch) or a positive batch interval.");
        if (histogramFrequency < 0) throw new ArgumentOutOfRangeException(nameof(histogramFrequency), histogramFrequency, "0 (no histograms) or a positive epoch interval.");
        LogDir = logDir;
        UpdateFrequency = updateFrequency;
        HistogramFrequency = histogramFrequency;
        WriteGraph = writeGraph;
        WriteImages = writeImages;
        if (activationLayers is not null)
        {
            if (activationLayers.Count == 0) throw new ArgumentException("Name at least one layer, or leave activationLayers null and set activationHistograms for every layer.", nameof(activationLayers));
            foreach (string name in activationLayers) ArgumentException.ThrowIfNullOrWhiteSpace(name, nameof(activationLayers));
            ActivationLayers = [.. activationLayers];
        }
        ActivationHistograms = activationHistograms || activationLayers is not null;
        if (ActivationHistograms && histogramFrequency == 0)
            throw new ArgumentException("Activation histograms are written at the histogram epochs; give histogramFrequency > 0 (Keras' histogram_freq).", nameof(histogramFrequency));
    }

    public string LogDir { get; }
    public int UpdateFrequency { get; }

    /// <summary>Epochs between weight histograms (Keras' <c>histogram_freq</c>); 0 writes none.</summary>
    public int HistogramFrequency { get; }

    /// <summary>Whether the model's graph is written when training begins (Keras' <c>write_graph</c>). A model with no <see cref="Model.Layers"/> (written by hand) has none to write.</summary>
    public bool WriteGraph { get; }

    /// <summary>Whether the first layer's kernels are written as images (Keras' <c>write_images</c>).</summary>
    public bool WriteImages { get; }

    /// <summary>Whether histogram epochs also write each layer's output histogram, tagged <c>layer/activations</c>.</summary>
    public bool ActivationHistograms { get; }

    /// <summary>The layers whose outputs are drawn; null for every layer that has an output of its own.</summary>
    public IReadOnlyList<string>? ActivationLayers { get; }

    /// <summary>The event file of the training curves, once training began.</summary>
    public string? TrainFile => _train?.Path;

    /// <summary>The event file of the validation curves, once a validation epoch was written.</summary>
    public string? ValidationFile => _validation?.Path;

    void ICallback.OnTrainBegin(TrainingContext context)
    {
        Release();
        _train = new EventFileWriter(Path.Combine(LogDir, "train"));
        _validation = null;
        _batchTags = [];
        var description = context.Model.Description;
        _images = WriteImages ? WeightImages.Find(description) : [];
        _activations = null;
        _probe = null;
        if (ActivationHistograms)
        {
            _activations = new ActivationRecorder(description, ActivationLayers);
            if (context.ValidationSamples == 0)
                throw new InvalidOperationException(
                    $"TensorBoard's activation histograms are drawn on the first validation batch, as Keras drew them on validation_data, but Fit of {description.Name} has no validation data; give Fit validation data or a validationSplit.");
            _probe = context.RequestProbe();
        }
        if (WriteGraph && description.Layers.Count > 0)
        {
            _train.WriteGraph(GraphDefWriter.Encode(description));
            _train.Flush();
        }
    }

    void ICallback.OnBatchEnd(int batch, Logs logs, TrainingContext context)
    {
        if (UpdateFrequency == 0 || _train is null || context.Step % UpdateFrequency != 0) return;
        if (_batchTags.Length != logs.Count)
        {
            // Once per Fit: the batch logs' names never change within one.
            _batchTags = new byte[logs.Count][];
            for (int i = 0; i < logs.Count; i++) _batchTags[i] = EventFileWriter.Tag("batch_" + logs.Names[i]);
        }
        for (int i = 0; i < logs.Count; i++) _train.WriteScalar(_batchTags[i], (float)logs[i], context.Step);
    }

    void ICallback.OnEpochEnd(int epoch, Logs logs, TrainingContext context)
    {
        if (_train is null) return;
        for (int i = 0; i < logs.Count; i++)
        {
            string name = logs.Names[i];
            if (name.StartsWith("val_", StringComparison.Ordinal))
            {
                _validation ??= new EventFileWriter(Path.Combine(LogDir, "validation"));
                _validation.WriteScalar(EventFileWriter.Tag("epoch_" + name[4..]), (float)logs[i], epoch);
            }
            else _train.WriteScalar(EventFileWriter.Tag("epoch_" + name), (float)logs[i], epoch);
        }
        _train.WriteScalar(LearningRateTag, context.Optimizer.CurrentLearningRate, epoch);
        bool weightEpoch = HistogramFrequency > 0 && epoch % HistogramFrequency == 0;
        if (weightEpoch) WriteHistograms(context.Model, epoch);
        if (weightEpoch && _activations is not null && _probe is { Count: > 0 } probe)
            _activations.Write(context.Model, probe, _train, _histogram ??= new Histogram(), epoch);
        if (_images.Count > 0 && (weightEpoch || HistogramFrequency == 0)) WriteKernelImages(context.Model, epoch);
        _train.Flush();
        _validation?.Flush();
    }

    void ICallback.OnTrainEnd(TrainingContext context) => Release();

    private void WriteHistograms(Model model, int epoch)
    {
        _histogram ??= new Histogram();
        foreach (var tensor in model.Description.Tensors)
        {
            _histogram.Clear();
            _histogram.Add(model.Tensor(tensor.Name), tensor.Name);
            _train!.WriteHistogram(tensor.Name + "/histogram", _histogram, epoch);
        }
    }

    private void WriteKernelImages(Model model, int epoch)
    {
        foreach (var source in _images)
        {
            var (png, height, width) = WeightImages.Draw(source, model.Tensor(source.Tensor));
            _train!.WriteImage(source.Tensor + "/image", height, width, 3, png, epoch);
        }
    }

    /// <summary>Closes the event files (Fit does this when training ends or throws).</summary>
    public void Release()
    {
        _train?.Dispose();
        _validation?.Dispose();
    }
}
