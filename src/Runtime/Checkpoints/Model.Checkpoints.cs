using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;

namespace Kiln;

/// <summary>
/// Weights and training checkpoints as safetensors files (docs/checkpoints.md). Tensors carry the
/// model's Keras names (<c>dense/kernel</c>), trainable and non-trainable alike; a training
/// checkpoint adds the optimizer's state arrays as <c>optimizer.state.0</c>, <c>.1</c>, ... (each
/// the length of the whole parameter buffer) and its scalars in <c>__metadata__</c>:
/// <c>kiln.epoch</c>, <c>kiln.step</c>, <c>kiln.optimizer</c>, <c>kiln.optimizer.iterations</c>,
/// <c>kiln.optimizer.learning_rate</c>, <c>kiln.rng</c> (four xoshiro words in hex) and
/// <c>kiln.history</c> (JSON). Writes are atomic; loads check everything before changing anything.
/// </summary>
public abstract partial class Model
{
    internal const string OptimizerStatePrefix = "optimizer.state.";
    private const string FormatKey = "kiln.format";

    /// <summary>Keras' <c>save_weights</c>: every named tensor (trainable and state) to a safetensors file, atomically.</summary>
    public void SaveWeights(string path) => SafeTensors.Write(path, WeightTensors(), BaseMetadata("weights"));

    /// <summary>
    /// Keras' <c>load_weights</c>: reads a safetensors file (from <see cref="SaveWeights"/>, a
    /// checkpoint, or another tool writing F32/F64/F16/BF16 under the same names) and copies every
    /// tensor into this model. Every name and shape must match; all mismatches are reported at
    /// once. A truncated, corrupt or mismatched file throws <see cref="InvalidDataException"/>
    /// naming it, and leaves the weights as they were.
    /// </summary>
    public void LoadWeights(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (tensors, _) = SafeTensors.Read(path);
        var matched = MatchWeights(path, tensors);
        CopyWeights(matched);
    }

    /// <summary>
    /// A full training checkpoint: weights, <paramref name="optimizer"/>'s state, iterations and
    /// learning rate, this model's random stream, <paramref name="epoch"/> (epochs completed) and
    /// optionally the history so far. <c>Fit(..., resumeFrom: path)</c> goes on from it bitwise.
    /// </summary>
    public void SaveCheckpoint(string path, Optimizer optimizer, int epoch, History? history = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "must not be negative");
        var tensors = WeightTensors();
        var state = optimizer.StateBuffers;
        for (int i = 0; i < state.Count; i++)
            tensors.Add(new TensorToWrite(OptimizerStatePrefix + i.ToString(CultureInfo.InvariantCulture), [state[i].Length], state[i]));
        var meta = BaseMetadata("training-checkpoint");
        var (s0, s1, s2, s3) = Random.State;
        meta["kiln.epoch"] = epoch.ToString(CultureInfo.InvariantCulture);
        meta["kiln.step"] = optimizer.Iterations.ToString(CultureInfo.InvariantCulture);
        meta["kiln.optimizer"] = optimizer.GetType().Name;
        meta["kiln.optimizer.iterations"] = optimizer.Iterations.ToString(CultureInfo.InvariantCulture);
        meta["kiln.optimizer.state_arrays"] = state.Count.ToString(CultureInfo.InvariantCulture);
        if (optimizer.Schedule is null)
            meta["kiln.optimizer.learning_rate"] = optimizer.LearningRate.ToString("R", CultureInfo.InvariantCulture);
        meta["kiln.rng"] = string.Create(CultureInfo.InvariantCulture, $"{s0:x16},{s1:x16},{s2:x16},{s3:x16}");
        if (history is not null) meta["kiln.history"] = HistoryJson(history);
        SafeTensors.Write(path, tensors, meta);
    }

    /// <summary>
    /// Restores a checkpoint from <see cref="SaveCheckpoint"/>: weights, the optimizer's state,
    /// iterations and learning rate (unless the optimizer follows a schedule), and the random
    /// stream. Everything is checked first: on any error (<see cref="InvalidDataException"/>
    /// naming the file) nothing changes. <paramref name="optimizer"/> must be of the kind saved
    /// and fresh or bound to this model.
    /// </summary>
    public TrainingCheckpoint LoadCheckpoint(string path, Optimizer optimizer)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(optimizer);
        var (tensors, meta) = SafeTensors.Read(path);
        string Bad(string why) => $"Checkpoint '{path}': {why}; nothing was loaded.";
        if (!meta.TryGetValue(FormatKey, out string? format) || format != "training-checkpoint")
            throw new InvalidDataException(Bad("it holds weights only (no optimizer state, epoch or random state); load it with LoadWeights, or save with ModelCheckpoint(SaveWeightsOnly = false)"));
        string savedOptimizer = Required(meta, "kiln.optimizer", Bad);
        if (savedOptimizer != optimizer.GetType().Name)
            throw new InvalidDataException(Bad($"it was saved with a {savedOptimizer} optimizer, not {optimizer.GetType().Name}"));
        int epoch = ParseInt(meta, "kiln.epoch", Bad);
        long iterations = ParseLong(meta, "kiln.optimizer.iterations", Bad);
        long step = ParseLong(meta, "kiln.step", Bad);
        int stateArrays = ParseInt(meta, "kiln.optimizer.state_arrays", Bad);
        // Scalars against what this optimizer can hold, before anything is sized by them.
        if (iterations > Optimizer.MaxIterations)
            throw new InvalidDataException(Bad($"kiln.optimizer.iterations {iterations} is past {Optimizer.MaxIterations}, the most steps an optimizer counts exactly"));
        if (step != iterations)
            throw new InvalidDataException(Bad($"kiln.step {step} and kiln.optimizer.iterations {iterations} differ; Kiln writes both from one count"));
        if (stateArrays != 0 && stateArrays != optimizer.StateArrayCount)
            throw new InvalidDataException(Bad($"kiln.optimizer.state_arrays is {stateArrays}, but a {optimizer.GetType().Name} keeps {optimizer.StateArrayCount} (or 0 before its first step)"));
        float? learningRate = null;
        if (meta.TryGetValue("kiln.optimizer.learning_rate", out string? lr))
            learningRate = float.TryParse(lr, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) && float.IsFinite(v) && v >= 0
                ? v : throw new InvalidDataException(Bad($"kiln.optimizer.learning_rate '{lr}' is not a learning rate"));
        Rng rng = ParseRng(Required(meta, "kiln.rng", Bad), Bad);
        History? history = meta.TryGetValue("kiln.history", out string? json) ? ParseHistory(json, Bad) : null;
        if (history is not null && history.Epochs > epoch)
            throw new InvalidDataException(Bad($"kiln.history records {history.Epochs} epochs, but kiln.epoch says {epoch} were completed"));

        var weights = new List<TensorRead>(tensors.Count);
        var state = new float[stateArrays][];
        foreach (var t in tensors)
        {
            if (!t.Name.StartsWith(OptimizerStatePrefix, StringComparison.Ordinal))
            {
                weights.Add(t);
                continue;
            }
            // Only the spelling Kiln writes: 'optimizer.state.00' beside '.0' would be a second copy.
            if (!int.TryParse(t.Name.AsSpan(OptimizerStatePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i >= stateArrays
                || t.Name != OptimizerStatePrefix + i.ToString(CultureInfo.InvariantCulture))
                throw new InvalidDataException(Bad($"unexpected optimizer tensor '{t.Name}'"));
            if (t.Shape.Length != 1 || t.Values.Length != Description.ParameterCount)
                throw new InvalidDataException(Bad($"optimizer state '{t.Name}' has {t.Values.Length} values but {Description.Name} has {Description.ParameterCount} parameters"));
            state[i] = t.Values;
        }
        for (int i = 0; i < stateArrays; i++)
            if (state[i] is null) throw new InvalidDataException(Bad($"optimizer state '{OptimizerStatePrefix}{i}' is missing"));
        var matched = MatchWeights(path, weights);

        // The optimizer checks its own state before taking any of it; the weights and the random
        // stream, already validated, are copied only after it accepted.
        if (stateArrays == 0 && optimizer.StateBuffers.Count > 0)
            throw new InvalidDataException(Bad($"it was saved before the first step, but this {optimizer.GetType().Name} has already trained; pass a fresh optimizer"));
        try
        {
            if (stateArrays == 0) optimizer.Iterations = iterations;
            else optimizer.SetState(state, iterations);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(Bad(e.Message), e);
        }
        if (learningRate is float rate && optimizer.Schedule is null) optimizer.LearningRate = rate;
        CopyWeights(matched);
        Random = rng;
        return new TrainingCheckpoint(path, epoch, step, history);
    }

    /// <summary>Copies of the parameters and state, for callbacks that restore them later (Keras' <c>get_weights</c>).</summary>
    internal void CopyWeightsTo(float[] parameters, float[] state)
    {
        Parameters.Span.CopyTo(parameters);
        State.Span.CopyTo(state);
    }

    internal void RestoreWeights(float[] parameters, float[] state)
    {
        parameters.CopyTo(Parameters.Span);
        state.CopyTo(State.Span);
    }

    private List<TensorToWrite> WeightTensors()
    {
        var list = new List<TensorToWrite>(Description.Tensors.Count + 3);
        foreach (var t in Description.Tensors)
        {
            var buffer = t.Trainable ? Parameters : State;
            list.Add(new TensorToWrite(t.Name, t.Shape, buffer.Segment.AsMemory(t.Offset, t.Length)));
        }
        return list;
    }

    private Dictionary<string, string> BaseMetadata(string format) => new(StringComparer.Ordinal)
    {
        [FormatKey] = format,
        // 2: the CRC covers the header too (kiln.crc32c); version 1 files still load.
        ["kiln.version"] = "2",
        ["kiln.model"] = Description.Name,
    };

    /// <summary>Pairs each model tensor with the file's, checking names and shapes; reports every mismatch at once.</summary>
    private List<(TensorInfo Info, float[] Values)> MatchWeights(string path, IReadOnlyList<TensorRead> tensors)
    {
        var byName = new Dictionary<string, TensorRead>(StringComparer.Ordinal);
        foreach (var t in tensors)
            if (!t.Name.StartsWith(OptimizerStatePrefix, StringComparison.Ordinal)) byName[t.Name] = t;
        var problems = new List<string>();
        var matched = new List<(TensorInfo, float[])>(Description.Tensors.Count);
        foreach (var info in Description.Tensors)
        {
            if (!byName.Remove(info.Name, out var t))
            {
                problems.Add($"'{info.Name}' {Shape(info.Shape)} is missing from the file");
                continue;
            }
            bool same = t.Shape.Length == info.Shape.Length;
            for (int i = 0; same && i < t.Shape.Length; i++) same = t.Shape[i] == info.Shape[i];
            if (!same) problems.Add($"'{info.Name}' is {SafeTensors.Shape(t.Shape)} in the file but {Shape(info.Shape)} in {Description.Name}");
            else matched.Add((info, t.Values));
        }
        foreach (string extra in byName.Keys)
            problems.Add($"the file has '{extra}' {SafeTensors.Shape(byName[extra].Shape)}, which {Description.Name} does not");
        if (problems.Count > 0)
        {
            var message = new StringBuilder($"'{path}' does not fit {Description.Name}; nothing was loaded:");
            foreach (string p in problems) message.Append(Environment.NewLine).Append("  - ").Append(p);
            throw new InvalidDataException(message.ToString());
        }
        return matched;
    }

    private void CopyWeights(List<(TensorInfo Info, float[] Values)> matched)
    {
        foreach (var (info, values) in matched)
            values.CopyTo((info.Trainable ? Parameters : State).Slice(info.Offset, info.Length));
    }

    private static string Shape(int[] shape) => "(" + string.Join(", ", shape) + ")";

    private static string Required(IReadOnlyDictionary<string, string> meta, string key, Func<string, string> bad) =>
        meta.TryGetValue(key, out string? v) ? v : throw new InvalidDataException(bad($"its metadata has no '{key}'"));

    private static int ParseInt(IReadOnlyDictionary<string, string> meta, string key, Func<string, string> bad) =>
        int.TryParse(Required(meta, key, bad), NumberStyles.None, CultureInfo.InvariantCulture, out int v)
            ? v : throw new InvalidDataException(bad($"'{key}' is not a count"));

    private static long ParseLong(IReadOnlyDictionary<string, string> meta, string key, Func<string, string> bad) =>
        long.TryParse(Required(meta, key, bad), NumberStyles.None, CultureInfo.InvariantCulture, out long v)
            ? v : throw new InvalidDataException(bad($"'{key}' is not a count"));

    private static Rng ParseRng(string text, Func<string, string> bad)
    {
        string[] words = text.Split(',');
        var w = new ulong[4];
        if (words.Length != 4) throw new InvalidDataException(bad("kiln.rng needs four hex words"));
        for (int i = 0; i < 4; i++)
            if (!ulong.TryParse(words[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out w[i]))
                throw new InvalidDataException(bad($"kiln.rng word '{words[i]}' is not hex"));
        try
        {
            return Rng.FromState((w[0], w[1], w[2], w[3]));
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(bad(e.Message), e);
        }
    }

    // {"loss": [0.5, 0.4], ...}; non-finite values as strings ("NaN"), which JSON numbers cannot hold.
    private static string HistoryJson(History history)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (string name in history.Names)
            {
                w.WriteStartArray(name);
                foreach (double v in history[name])
                    if (double.IsFinite(v)) w.WriteNumberValue(v);
                    else w.WriteStringValue(v.ToString(CultureInfo.InvariantCulture));
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static History ParseHistory(string json, Func<string, string> bad)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var columns = new List<KeyValuePair<string, double[]>>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                var values = new double[p.Value.GetArrayLength()];
                int i = 0;
                foreach (var v in p.Value.EnumerateArray())
                    values[i++] = v.ValueKind == JsonValueKind.String
                        ? double.Parse(v.GetString()!, CultureInfo.InvariantCulture)
                        : v.GetDouble();
                columns.Add(new(p.Name, values));
            }
            return History.FromValues(columns);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException(bad($"kiln.history is not a valid history ({e.Message})"), e);
        }
    }
}
