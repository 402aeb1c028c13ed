using System;
using System.Runtime.CompilerServices;

namespace Kiln;

/// <summary>
/// Trains a generator and a discriminator against each other the way Keras' GAN tutorial does
/// (seed 000, "Deep Learning with Python" §8.5):
/// <code>
/// discriminator.compile(...); discriminator.trainable = False
/// gan = Model(z, discriminator(generator(z))); gan.compile(loss='binary_crossentropy', ...)
/// d_loss = discriminator.train_on_batch(concat([generator.predict(z), real]), [1]*n + [0]*n + 0.05*U)
/// a_loss = gan.train_on_batch(z', [0]*n)
/// </code>
/// Labels follow the seed: a fake image is 1, a real one 0, and the discriminator's labels get
/// <c>LabelNoise · U[0, 1)</c> added. In Keras 2 a model compiled before <c>trainable = False</c>
/// still trains in its own <c>train_on_batch</c> while it is frozen inside <c>gan</c>; so
/// <see cref="TrainDiscriminator"/> updates the discriminator, and <see cref="TrainGenerator"/>
/// sets <c>Discriminator.Trainable = false</c> for its duration (restoring it afterwards): the
/// discriminator then computes no weight gradients, runs BatchNormalization on its moving
/// statistics and keeps dropout on, and hands the gradient of its loss to the generator's output.
/// <para>
/// Every buffer (latent noise, the fake-then-real batch, labels) is allocated here, once: a step
/// allocates nothing. Latent vectors are drawn from the generator's <see cref="Model.Random"/>
/// and label noise from the discriminator's, so two runs with the same model seeds are identical.
/// </para>
/// </summary>
public sealed class GanTrainer
{
    private readonly float[] _latent;
    private readonly float[] _combined;
    private readonly float[] _labels;
    private readonly float[] _misleadTargets;
    private readonly int _imageSize;

    /// <param name="generator">Maps latent vectors to images; needs no [Loss] (its gradient comes from the discriminator).</param>
    /// <param name="discriminator">Maps images to one value per sample with a [Loss] (binary cross-entropy in the seed); built for batches of at least twice the generator's, because its own step sees n fakes and n reals.</param>
    /// <param name="discriminatorOptimizer">Updates the discriminator in <see cref="TrainDiscriminator"/> (seed: RMSprop 8e-4, clipvalue 1, decay 1e-8).</param>
    /// <param name="generatorOptimizer">The adversarial model's optimizer, which updates only the generator (seed: RMSprop 1e-3, epsilon 1e-8).</param>
    /// <param name="labelNoise">Scale of the uniform noise added to the discriminator's labels (seed: 0.05); 0 for none.</param>
    public GanTrainer(Model generator, Model discriminator, Optimizer discriminatorOptimizer, Optimizer generatorOptimizer, double labelNoise = 0.05)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(discriminator);
        ArgumentNullException.ThrowIfNull(discriminatorOptimizer);
        ArgumentNullException.ThrowIfNull(generatorOptimizer);
        if (ReferenceEquals(generator, discriminator))
            throw new ArgumentException($"{generator.Description.Name} was passed as both the generator and the discriminator; a GAN needs two models.", nameof(discriminator));
        if (ReferenceEquals(discriminatorOptimizer, generatorOptimizer))
            throw new ArgumentException("The discriminator and the generator need one optimizer each: an optimizer's state is bound to one model's parameters.", nameof(generatorOptimizer));
        if (!(labelNoise >= 0) || float.IsInfinity((float)labelNoise))
            throw new ArgumentOutOfRangeException(nameof(labelNoise), labelNoise, "the label noise must be a finite number ≥ 0.");

        var g = generator.Description;
        var d = discriminator.Description;
        if (!SameShape(g.OutputShape, d.InputShape))
            throw new ArgumentException(
                $"The generator {g.Name} makes images of shape ({Shape(g.OutputShape)}), but the discriminator {d.Name} takes inputs of shape ({Shape(d.InputShape)}); " +
                $"change the generator's last layers or the discriminator's [Sequential({Shape(d.InputShape)})] so the two agree.",
                nameof(discriminator));
        if (d.Loss is null)
            throw new ArgumentException(
                $"The discriminator {d.Name} has no [Loss]; give it one value per sample and [Loss(Loss.BinaryCrossentropy)] (the seed's), so both steps can score it.",
                nameof(discriminator));
        if (d.OutputSize != 1 || d.TargetSize != 1)
            throw new ArgumentException(
                $"The discriminator {d.Name} outputs ({Shape(d.OutputShape)}) per sample; a GAN's discriminator gives one score per image, e.g. [Dense(1, Activation.Sigmoid)] last.",
                nameof(discriminator));
        if (discriminator.BatchSize < 2 * generator.BatchSize)
            throw new ArgumentException(
                $"The discriminator {d.Name} is built for batches of {discriminator.BatchSize}, but its step trains on the generator {g.Name}'s {generator.BatchSize} fakes followed by as many real images, " +
                $"{2 * generator.BatchSize} in all; construct it with batchSize: {2 * generator.BatchSize}.",
                nameof(discriminator));

        Generator = generator;
        Discriminator = discriminator;
        DiscriminatorOptimizer = discriminatorOptimizer;
        GeneratorOptimizer = generatorOptimizer;
        LabelNoise = (float)labelNoise;
        _imageSize = g.OutputSize;
        _latent = new float[generator.BatchSize * g.InputSize];
        _combined = new float[2 * generator.BatchSize * _imageSize];
        _labels = new float[2 * generator.BatchSize];
        _misleadTargets = new float[generator.BatchSize];
    }

    public Model Generator { get; }
    public Model Discriminator { get; }
    public Optimizer DiscriminatorOptimizer { get; }
    public Optimizer GeneratorOptimizer { get; }
    public float LabelNoise { get; }

    /// <summary>The largest number of real images one step takes: the generator's batch size.</summary>
    public int BatchSize => Generator.BatchSize;

    /// <summary>Floats per latent vector (the generator's input size).</summary>
    public int LatentSize => Generator.InputSize;

    /// <summary>Floats per image (the generator's output size, the discriminator's input size).</summary>
    public int ImageSize => _imageSize;

    /// <summary>
    /// The fakes of the last <see cref="TrainDiscriminator"/> call: <paramref name="n"/> images,
    /// as the seed's <c>generated_images</c> (valid until the next discriminator step).
    /// </summary>
    public ReadOnlySpan<float> GeneratedImages(int n) => _combined.AsSpan(0, CheckN(n) * _imageSize);

    /// <summary>
    /// One discriminator step: <paramref name="n"/> fakes from fresh latent vectors (the generator in
    /// inference mode, as <c>generator.predict</c>), then the <paramref name="n"/> real images, with
    /// labels 1 (fake) and 0 (real) plus label noise; one optimizer step on the 2n batch.
    /// Returns the mean loss, as Keras' <c>d_loss</c>.
    /// </summary>
    // Compiled optimized up front: its label-noise loop would otherwise be compiled by on-stack
    // replacement on the training thread (allocating) whenever it crossed the threshold.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public float TrainDiscriminator(ReadOnlySpan<float> realImages, int n)
    {
        CheckN(n);
        if (realImages.Length != n * _imageSize)
            throw new ArgumentException(
                $"{n} real images of shape ({Shape(Discriminator.Description.InputShape)}) need {n * _imageSize} floats, but the span holds {realImages.Length}.",
                nameof(realImages));
        if (!Discriminator.Trainable)
            throw new InvalidOperationException(
                $"The discriminator {Discriminator.Description.Name} has Trainable = false, so its step would change nothing. " +
                "GanTrainer freezes it only inside TrainGenerator (Keras 2: a model compiled before trainable = False still trains in its own train_on_batch); leave Trainable = true.");

        int imageFloats = n * _imageSize;
        Span<float> latent = FillLatent(n);
        Generator.Forward(latent, n, training: false).CopyTo(_combined);
        realImages.CopyTo(_combined.AsSpan(imageFloats));

        Span<float> labels = _labels.AsSpan(0, 2 * n);
        labels.Slice(0, n).Fill(1f);
        labels.Slice(n).Clear();
        if (LabelNoise > 0)
        {
            ref Rng rng = ref Discriminator.Random;
            for (int i = 0; i < labels.Length; i++) labels[i] += LabelNoise * rng.NextFloat();
        }
        return Discriminator.TrainOnBatch(_combined.AsSpan(0, 2 * imageFloats), labels, 2 * n, DiscriminatorOptimizer);
    }

    /// <summary>
    /// One adversarial step (Keras' <c>gan.train_on_batch(z, zeros)</c>): fresh latent vectors through
    /// the generator and the frozen discriminator, targets 0 ("real"), the discriminator's loss
    /// gradient back to its input, that into the generator's output, and one optimizer step on the
    /// generator alone. Returns the mean loss, as Keras' <c>a_loss</c>.
    /// </summary>
    public float TrainGenerator(int n)
    {
        CheckN(n);
        if (!Generator.Trainable)
            throw new InvalidOperationException(
                $"The generator {Generator.Description.Name} has Trainable = false, so the adversarial step would change nothing; set Trainable = true to train it.");

        Span<float> latent = FillLatent(n);
        bool wasTrainable = Discriminator.Trainable;
        Discriminator.Trainable = false;
        try
        {
            ReadOnlySpan<float> fakes = Generator.Forward(latent, n, training: true);
            Discriminator.Forward(fakes, n, training: true);
            float loss = Discriminator.ComputeLoss(_misleadTargets.AsSpan(0, n), n, gradient: true);
            // The discriminator's input gradient lands straight in the generator's output gradient.
            Discriminator.Backward(n, Generator.OutputGradient(n));
            Generator.BackwardFromOutputGradient(n);
            GeneratorOptimizer.Step(Generator);
            return loss;
        }
        finally
        {
            Discriminator.Trainable = wasTrainable;
        }
    }

    /// <summary>One step of each, as one iteration of the seed's loop: <c>(d_loss, a_loss)</c>.</summary>
    public (float DiscriminatorLoss, float AdversarialLoss) Step(ReadOnlySpan<float> realImages, int n)
    {
        float d = TrainDiscriminator(realImages, n);
        float a = TrainGenerator(n);
        return (d, a);
    }

    /// <summary>Fills <paramref name="latent"/> with standard normal values from the generator's random stream (<c>np.random.normal</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a loop, as TrainDiscriminator's
    public void SampleLatent(Span<float> latent)
    {
        ref Rng rng = ref Generator.Random;
        for (int i = 0; i < latent.Length; i++) latent[i] = rng.NextNormal();
    }

    private Span<float> FillLatent(int n)
    {
        Span<float> latent = _latent.AsSpan(0, n * LatentSize);
        SampleLatent(latent);
        return latent;
    }

    private int CheckN(int n)
    {
        if (n <= 0 || n > BatchSize)
            throw new ArgumentOutOfRangeException(nameof(n), n,
                $"The GAN of {Generator.Description.Name} and {Discriminator.Description.Name} takes batches of 1 to {BatchSize} (the generator's batch size); got {n}.");
        return n;
    }

    private static bool SameShape(int[] a, int[] b) => a.AsSpan().SequenceEqual(b);

    private static string Shape(int[] shape) => string.Join(", ", shape);
}
