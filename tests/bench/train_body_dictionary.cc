// Trains the zstd dictionary that record bodies are compressed with
// (data/body-dictionary-v1.zdict, RecordHeader.body_dictionary = 1), so that a 1-2 KB
// testimony compresses like a long text would. Run by hand; the output is committed:
//   build/tests/bench/train_body_dictionary data/body-dictionary-v1.zdict
// Deterministic (fixed seed, one thread). The samples are serialized Testimony messages:
// structured fields from the e2e generator with their vocabulary codes, narratives of
// 500-2000 bytes from the sentences below. These sentences are written for this corpus
// alone; sync_bench's prose (its own word list and seed) is not used, so the benchmark
// measures text the dictionary has not seen.
#define ZDICT_STATIC_LINKING_ONLY
#include <zdict.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tests/e2e/synthetic_testimony.h"

namespace {

constexpr uint32_t kSeed = 880117;  // not sync_bench's (20261127) nor the e2e tests'
constexpr size_t kSamples = 6000;
constexpr size_t kDictionaryBytes = 32 << 10;
constexpr unsigned kDictionaryId = 1;  // RecordHeader.body_dictionary

constexpr const char* kSentences[] = {
    // French
    "Vers quatre heures du matin, nous avons entendu des coups de feu du côté de la mare.",
    "Ils sont venus à une trentaine, certains en uniforme, d'autres en civil avec des "
    "turbans.",
    "Mon mari a été attaché à un arbre devant la maison puis emmené dans un véhicule.",
    "Depuis ce jour, nous n'avons plus de nouvelles de lui ni de ses deux frères.",
    "Les militaires ont fouillé chaque concession et pris les téléphones des jeunes.",
    "Le chef de village a été convoqué au camp et n'est revenu que trois jours après.",
    "Nous avons marché pendant deux nuits jusqu'au site de déplacés près de la ville.",
    "Au poste de contrôle, on nous a demandé de l'argent pour laisser passer la charrette.",
    "Les hommes armés ont brûlé les greniers et abattu une partie du troupeau.",
    "Une femme a été blessée par balle à la jambe; elle a été soignée au centre de santé.",
    "Le témoin affirme que les assaillants parlaient une langue qu'il ne comprenait pas.",
    "Les corps ont été enterrés à la hâte derrière l'école par les habitants.",
    "On nous a interdit de cultiver les champs situés au-delà de la rivière.",
    "Chaque famille devait verser une somme par tête de bétail, sous peine de représailles.",
    "La victime a été détenue dans une pièce sans fenêtre pendant plusieurs semaines.",
    "Elle dit avoir été frappée à coups de crosse lors de l'interrogatoire.",
    "Les enfants ne vont plus à l'école depuis que l'enseignant a été menacé.",
    "Le marché hebdomadaire n'a plus lieu; les commerçants ont peur de la route.",
    "Un engin explosif a sauté au passage d'un véhicule de transport en commun.",
    "Les assaillants ont accusé les villageois de collaborer avec l'autre camp.",
    "Nous avons retrouvé les puits comblés et la pompe détruite.",
    "Des maisons ont été incendiées, ainsi que la mosquée et le magasin de céréales.",
    "Le témoin a reconnu parmi eux un ancien habitant du village voisin.",
    "L'entretien a eu lieu dans un endroit sûr, à la demande de la personne interrogée.",
    "Elle souhaite que son témoignage soit transmis à la justice, sans son nom.",
    // English
    "Around four in the morning we heard gunfire from the direction of the pond.",
    "About thirty of them came, some in uniform, others in civilian clothes with turbans.",
    "My husband was tied to a tree in front of the house and then driven away.",
    "Since that day we have had no news of him or of his two brothers.",
    "The soldiers searched every compound and took the young men's phones.",
    "The village head was summoned to the camp and only came back three days later.",
    "We walked for two nights to reach the displacement site near the town.",
    "At the checkpoint they asked us for money to let the cart through.",
    "The gunmen burned the granaries and killed part of the herd.",
    "A woman was shot in the leg; she was treated at the health centre.",
    "The witness says the attackers spoke a language he did not understand.",
    "The bodies were buried in haste behind the school by the residents.",
    "We were forbidden to farm the fields beyond the river.",
    "Each family had to pay an amount per head of cattle or face reprisals.",
    "The victim was held in a windowless room for several weeks.",
    "She says she was beaten with rifle butts during the interrogation.",
    "The children no longer go to school since the teacher was threatened.",
    "The weekly market no longer takes place; traders are afraid of the road.",
    "An explosive device went off as a passenger vehicle drove past.",
    "The attackers accused the villagers of collaborating with the other side.",
    "We found the wells filled in and the pump destroyed.",
    "Houses were set on fire, as well as the mosque and the grain store.",
    "The witness recognised among them a former resident of the neighbouring village.",
    "The interview took place in a safe location, at the request of the interviewee.",
    "She wants her testimony passed on to the courts, without her name.",
};

std::string Narrative(std::mt19937& rng, size_t target) {
  std::uniform_int_distribution<size_t> pick(0, std::size(kSentences) - 1);
  std::string text;
  while (text.size() < target) {
    if (!text.empty()) text += ' ';
    text += kSentences[pick(rng)];
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT.zdict\n", argv[0]);
    return 2;
  }
  temoin::e2e::TestimonyGenerator generator(kSeed);
  std::mt19937 rng(kSeed);
  std::uniform_int_distribution<size_t> length(500, 2000);
  std::string samples;
  std::vector<size_t> sizes;
  for (size_t i = 0; i < kSamples; ++i) {
    temoin::v1::Testimony testimony = generator.Next();
    testimony.set_narrative(Narrative(rng, length(rng)));
    std::string bytes = testimony.SerializeAsString();
    samples += bytes;
    sizes.push_back(bytes.size());
  }
  std::string dictionary(kDictionaryBytes, '\0');
  ZDICT_fastCover_params_t params{};
  params.d = 8;
  params.steps = 8;
  params.nbThreads = 1;
  params.zParams.compressionLevel = 3;
  params.zParams.dictID = kDictionaryId;
  size_t n = ZDICT_optimizeTrainFromBuffer_fastCover(dictionary.data(), dictionary.size(),
                                                     samples.data(), sizes.data(),
                                                     static_cast<unsigned>(sizes.size()), &params);
  if (ZDICT_isError(n)) {
    std::fprintf(stderr, "training failed: %s\n", ZDICT_getErrorName(n));
    return 1;
  }
  dictionary.resize(n);
  std::ofstream out(argv[1], std::ios::binary | std::ios::trunc);
  out.write(dictionary.data(), static_cast<std::streamsize>(dictionary.size()));
  if (!out.flush()) {
    std::fprintf(stderr, "cannot write %s\n", argv[1]);
    return 1;
  }
  std::fprintf(stderr, "%zu samples, dictionary of %zu bytes (id %u) -> %s\n", sizes.size(), n,
               kDictionaryId, argv[1]);
  return 0;
}
