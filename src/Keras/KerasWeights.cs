using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Kiln.Keras;

namespace Kiln;

/// <summary>Loading weights trained in Keras into a Kiln model (docs/keras-weights.md).</summary>
public static class KerasWeights
{
    /// <summary>
    /// Keras' <c>model.load_weights(path)</c>: reads a Keras HDF5 weights file into this model.
    /// It reads Keras 2's <c>save_weights('x.h5')</c> (and <c>ModelCheckpoint(save_weights_only=True)</c>),
    /// a whole model saved with <c>model.save('x.h5')</c> by Keras 2 or 3 (the weights under
    /// <c>model_weights</c>), Keras 3's <c>save_weights('x.weights.h5')</c>, and the weights inside a
    /// Keras 3 <c>.keras</c> archive.
    /// <para>
    /// Layers pair up by name when the file's layer names are the model's (Kiln names layers as
    /// Keras does: <c>dense</c>, <c>dense_1</c>, ...); otherwise as Keras itself pairs them: a
    /// Keras 2 file by position among the layers with weights, a Keras 3 file by its
    /// class-numbered keys (<c>layers/conv2d_1</c>), both in Keras' <c>model.layers</c> order,
    /// which Kiln derives from the model's graph. Every layer with weights must be in the file and
    /// every layer of the file in the model, with the same weights and shapes (a Conv2D kernel is
    /// (kh, kw, in, filters), a Conv2DTranspose kernel (kh, kw, filters, in), a Dense kernel
    /// (in, units), as both store them). float64 weights are rounded to float32 and float16 ones
    /// widened, as Keras does when it assigns them to float32 variables.
    /// </para>
    /// <para>
    /// All or nothing, like <see cref="Model.LoadWeights"/>: everything is checked and read before
    /// anything is copied; a missing or extra layer, a shape or dtype mismatch, a truncated or
    /// corrupt file throws <see cref="InvalidDataException"/> naming the file, the layer and the
    /// tensor (every mismatch at once), and leaves the model's weights as they were.
    /// </para>
    /// </summary>
    /// <param name="model">The model to load into; its shapes must be those of the Keras model.</param>
    /// <param name="path">A <c>.h5</c>, <c>.weights.h5</c> or <c>.keras</c> file written by Keras.</param>
    /// <param name="byName">
    /// Keras' <c>load_weights(path, by_name=True)</c>: load only the layers whose names are in both
    /// the model and the file, leave the model's other layers as they are and ignore the file's
    /// others (for a model that shares some layers with the one trained). Shapes must still match.
    /// Needs a file that records layer names: any legacy <c>.h5</c>, a <c>.weights.h5</c> from
    /// Keras 3.6 or later.
    /// </param>
    /// <exception cref="FileNotFoundException"><paramref name="path"/> does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable Keras weights file, or does not fit the model.</exception>
    public static void LoadKerasWeights(this Model model, string path, bool byName = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Keras weights file '{path}' does not exist.", path);
        string modelName = model.Description.Name;
        Exception Bad(string why) => KerasWeightsException.Create($"Keras weights file '{path}' cannot be loaded into {modelName}: {why}; nothing was loaded.");

        List<(TensorInfo Info, float[] Values)> loaded;
        try
        {
            using var file = KerasFile.Open(path, Bad);
            var matching = new KerasMatching(model, file);
            var pairs = matching.Pair(byName);
            if (matching.Problems.Count == 0)
                foreach (var (info, variable) in pairs)
                    matching.Read(info, variable);
            if (matching.Problems.Count > 0)
            {
                var message = new StringBuilder($"Keras weights file '{path}' ({file.Origin}) does not fit {modelName}; nothing was loaded");
                if (matching.How is string how) message.Append(" (").Append(how).Append(')');
                message.Append(':');
                foreach (string p in matching.Problems) message.Append(Environment.NewLine).Append("  - ").Append(p);
                throw KerasWeightsException.Create(message.ToString());
            }
            loaded = matching.Loaded;
        }
        catch (Exception e) when (!KerasWeightsException.IsOurs(e) && e is not OutOfMemoryException)
        {
            // PureHDF's own errors on a damaged file (a bad signature, an address past the end, ...).
            throw KerasWeightsException.Create($"Keras weights file '{path}' cannot be read as HDF5 ({e.GetType().Name}: {e.Message}); it may be corrupt; nothing was loaded.", e);
        }

        foreach (var (info, values) in loaded)
            values.CopyTo((info.Trainable ? model.Parameters : model.State).Slice(info.Offset, info.Length));
    }
}

/// <summary>The errors of a Keras weights file that cannot be loaded, told apart from PureHDF's own.</summary>
internal static class KerasWeightsException
{
    private const string Marker = "Kiln.Keras";

    public static InvalidDataException Create(string message, Exception? inner = null)
    {
        var e = new InvalidDataException(message, inner);
        e.Data[Marker] = true;
        return e;
    }

    public static bool IsOurs(Exception e) => e.Data.Contains(Marker);
}
