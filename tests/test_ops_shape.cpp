// Tests for autograd/ops_shape.cpp: hand-worked values, permute against a plain reference
// loop, round trips, float64 gradient checks (broadcasting, inputs used twice) and errors.
#include "testing.h"

using namespace crossgrad;
using namespace testing;

namespace {

// [[1, 2, 3],
//  [4, 5, 6]]
Tensor two_by_three() { return Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3}); }

// y's dim d is x's dim dims[d], element by element through at(): slow and plainly right.
Tensor reference_permute(const Tensor& x, const std::vector<int>& dims) {
  Shape shape;
  for (int d : dims) shape.push_back(x.shape()[static_cast<std::size_t>(d)]);
  Tensor y = Tensor::zeros(shape);
  std::vector<std::size_t> out_index(shape.size()), in_index(shape.size());
  for (std::size_t flat = 0; flat < y.numel(); ++flat) {
    for (std::size_t d = shape.size(), rest = flat; d-- > 0; rest /= shape[d])
      out_index[d] = rest % shape[d];
    for (std::size_t d = 0; d < shape.size(); ++d)
      in_index[static_cast<std::size_t>(dims[d])] = out_index[d];
    y.set(out_index, x.at(in_index));
  }
  return y;
}

}  // namespace

// --- Same values, another shape ---

TEST_CASE("reshape: keeps the row-major order of the values and infers one -1") {
  const Tensor x = two_by_three();
  const Tensor y = reshape(x, {3, -1});  // 6 / 3 = 2
  CHECK(y.shape() == Shape{3, 2});
  check_values(y, {1, 2, 3, 4, 5, 6});
  CHECK(x.reshape({-1}).shape() == Shape{6});
  CHECK(x.reshape({1, 2, 1, 3}).shape() == Shape{1, 2, 1, 3});
  CHECK(reshape(Tensor::scalar(5), {1, 1}).shape() == Shape{1, 1});
  CHECK(reshape(Tensor::zeros({0, 3}), {3, 0}).shape() == Shape{3, 0});
}

TEST_CASE("reshape: sizes that do not fit are an error naming both shapes") {
  const Tensor x = two_by_three();
  CHECK_THROWS_WITH_AS(reshape(x, {4, 2}),
                       doctest::Contains("reshape: cannot reshape (2,3) of 6 elements into (4,2)"),
                       Error);
  CHECK_THROWS_WITH_AS(reshape(x, {4, -1}), doctest::Contains("into (4,-1)"), Error);
  CHECK_THROWS_WITH_AS(reshape(x, {-1, -1}), doctest::Contains("only one size may be -1"), Error);
  CHECK_THROWS_WITH_AS(reshape(x, {-2, -3}), doctest::Contains("size -2 is negative"), Error);
  CHECK_THROWS_WITH_AS(reshape(Tensor::zeros({0, 3}), {-1, 0}),
                       doctest::Contains("the -1 is ambiguous"), Error);
}

TEST_CASE("unsqueeze and squeeze: insert and remove a dim of size 1") {
  const Tensor x = two_by_three();
  CHECK(unsqueeze(x, 0).shape() == Shape{1, 2, 3});
  CHECK(unsqueeze(x, 1).shape() == Shape{2, 1, 3});
  CHECK(unsqueeze(x, -1).shape() == Shape{2, 3, 1});  // -1 is after the last dim
  CHECK(unsqueeze(x, 2).shape() == Shape{2, 3, 1});
  check_values(unsqueeze(x, 1), {1, 2, 3, 4, 5, 6});
  CHECK(squeeze(unsqueeze(x, 1), 1).shape() == Shape{2, 3});
  CHECK(squeeze(Tensor::zeros({2, 3, 1}), -1).shape() == Shape{2, 3});
  CHECK(squeeze(Tensor::zeros({1}), 0).shape() == Shape{});
}

TEST_CASE("unsqueeze and squeeze: a bad dim or a size other than 1 is an error") {
  const Tensor x = two_by_three();
  CHECK_THROWS_WITH_AS(squeeze(x, 1), doctest::Contains("squeeze: dim 1 of shape (2,3) has size 3, not 1"),
                       Error);
  CHECK_THROWS_WITH_AS(squeeze(x, 2), doctest::Contains("squeeze: dim 2 is out of range"), Error);
  CHECK_THROWS_WITH_AS(unsqueeze(x, 4), doctest::Contains("unsqueeze: dim 4 is out of range"),
                       Error);
}

// --- Reordering dims ---

TEST_CASE("transpose: values by hand") {
  const Tensor y = transpose(two_by_three(), 0, 1);
  CHECK(y.shape() == Shape{3, 2});
  check_values(y, {1, 4, 2, 5, 3, 6});  // column j of x is row j of y
  check_values(two_by_three().t(), {1, 4, 2, 5, 3, 6});
  check_values(transpose(two_by_three(), -1, -1), {1, 2, 3, 4, 5, 6});  // a dim with itself
}

TEST_CASE("permute: values by hand and against a plain reference loop") {
  // x[i][j][k] = 12i + 4j + k, so y = permute(x, {2, 0, 1}) has y[k][i][j] = 12i + 4j + k.
  const Tensor x = Tensor::arange(24).reshape({2, 3, 4});
  const Tensor y = permute(x, {2, 0, 1});
  CHECK(y.shape() == Shape{4, 2, 3});
  CHECK(y.at({0, 1, 2}) == 20);  // 12 + 8 + 0
  CHECK(y.at({3, 0, 1}) == 7);   // 0 + 4 + 3
  SUBCASE("every permutation of a 3-d tensor") {
    const std::vector<std::vector<int>> all = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                               {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (const auto& dims : all)
      CHECK(permute(x, dims).values() == reference_permute(x, dims).values());
  }
  SUBCASE("attention's split of heads: (B,T,H,Dh) -> (B,H,T,Dh) and its transpose") {
    const Tensor heads = random_input({2, 5, 4, 3}, 21);
    CHECK(heads.permute({0, 2, 1, 3}).values() == reference_permute(heads, {0, 2, 1, 3}).values());
    CHECK(heads.permute({0, 2, 3, 1}).values() == reference_permute(heads, {0, 2, 3, 1}).values());
    CHECK(heads.transpose(1, 2).values() == reference_permute(heads, {0, 2, 1, 3}).values());
  }
  SUBCASE("size-1 dims and negative dims") {
    const Tensor thin = random_input({3, 1, 4, 1}, 22);
    CHECK(permute(thin, {-1, 2, 0, 1}).values() == reference_permute(thin, {3, 2, 0, 1}).values());
  }
}

TEST_CASE("transpose and permute: big strided copies, walked in tiles, match the reference") {
  // Inner runs longer than the tile (and not a multiple of it) take the tiled path.
  const Tensor matrix = random_input({37, 45}, 24);
  CHECK(matrix.t().values() == reference_permute(matrix, {1, 0}).values());
  const Tensor cube = random_input({3, 40, 50}, 25);
  for (const std::vector<int>& dims : {std::vector<int>{0, 2, 1}, {2, 1, 0}, {1, 2, 0}}) {
    Tensor x = cube.detach().requires_grad_();
    Tensor y = permute(x, dims);
    CHECK(y.values() == reference_permute(cube, dims).values());
    // The backward is the inverse permutation of the incoming gradient.
    std::vector<int> inverse(3);
    for (int d = 0; d < 3; ++d) inverse[static_cast<std::size_t>(dims[d])] = d;
    const Tensor gradient = random_input(y.shape(), 26).detach();
    y.backward(gradient);
    CHECK(x.grad().values() == reference_permute(gradient, inverse).values());
  }
}

TEST_CASE("permute then the inverse permutation round-trips exactly") {
  const Tensor x = random_input({2, 3, 4, 5}, 23);
  // {3, 1, 0, 2} moves dim 3 first; its inverse {2, 1, 3, 0} puts every dim back.
  CHECK(permute(permute(x, {3, 1, 0, 2}), {2, 1, 3, 0}).values() == x.values());
  CHECK(permute(permute(x, {0, 2, 1, 3}), {0, 2, 1, 3}).values() == x.values());
  CHECK(transpose(transpose(x, 0, 3), 3, 0).values() == x.values());
}

TEST_CASE("transpose and permute: dims that are not a permutation are an error") {
  const Tensor x = Tensor::zeros({2, 3, 4});
  CHECK_THROWS_WITH_AS(permute(x, {0, 0, 1}),
                       doctest::Contains("permute: dims (0,0,1) are not a permutation of the "
                                         "dims of shape (2,3,4)"),
                       Error);
  CHECK_THROWS_WITH_AS(permute(x, {1, 0}), doctest::Contains("permute: dims (1,0)"), Error);
  CHECK_THROWS_WITH_AS(permute(x, {0, 1, 3}), doctest::Contains("permute: dim 3 is out of range"),
                       Error);
  CHECK_THROWS_WITH_AS(transpose(x, 0, 3), doctest::Contains("transpose: dim 3 is out of range"),
                       Error);
  CHECK_THROWS_WITH_AS(x.t(), doctest::Contains("t: expects a 2-d tensor"), Error);
}

// --- Broadcasting ---

TEST_CASE("expand: values by hand, following broadcasting rules") {
  check_values(expand(Tensor::from({1, 2, 3}, {3}), {2, 3}), {1, 2, 3, 1, 2, 3});
  check_values(expand(Tensor::from({1, 2}, {2, 1}), {2, 3}), {1, 1, 1, 2, 2, 2});
  check_values(Tensor::scalar(7).expand({2, 2}), {7, 7, 7, 7});
  const Tensor middle = expand(Tensor::from({1, 2, 3, 4}, {2, 1, 2}), {2, 2, 2});
  check_values(middle, {1, 2, 1, 2, 3, 4, 3, 4});
  CHECK(expand(Tensor::zeros({1, 3}), {0, 3}).shape() == Shape{0, 3});
}

TEST_CASE("expand: backward sums the gradient over expanded dims") {
  Tensor x = Tensor::from({1, 2}, {2, 1}, true);
  expand(x, {2, 3}).backward(two_by_three());
  check_values(x.grad(), {6, 15});  // 1+2+3, 4+5+6
}

TEST_CASE("expand: a shape that x does not broadcast to is an error") {
  CHECK_THROWS_WITH_AS(expand(two_by_three(), {4, 3}),
                       doctest::Contains("expand: shape (2,3) cannot be broadcast to (4,3)"), Error);
  CHECK_THROWS_WITH_AS(expand(two_by_three(), {3}), doctest::Contains("expand: shape (2,3)"), Error);
}

// --- Pieces along one dim ---

TEST_CASE("slice: values by hand along each dim") {
  // x = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
  const Tensor x = Tensor::arange(12).reshape({3, 4});
  check_values(slice(x, 0, 1, 3), {4, 5, 6, 7, 8, 9, 10, 11});
  CHECK(x.slice(1, 1, 3).shape() == Shape{3, 2});
  check_values(x.slice(1, 1, 3), {1, 2, 5, 6, 9, 10});
  CHECK(slice(x, -1, 2, 2).shape() == Shape{3, 0});
}

TEST_CASE("slice: backward puts the gradient back in its place") {
  Tensor x = Tensor::zeros({2, 4}, true);
  slice(x, 1, 1, 3).backward(Tensor::from({1, 2, 3, 4}, {2, 2}));
  check_values(x.grad(), {0, 1, 2, 0, 0, 3, 4, 0});
}

TEST_CASE("slice: a range outside the dim or backwards is an error") {
  const Tensor x = two_by_three();
  CHECK_THROWS_WITH_AS(slice(x, 1, 1, 4),
                       doctest::Contains("slice: range [1, 4) is not within dim 1 of size 3 in "
                                         "shape (2,3)"),
                       Error);
  CHECK_THROWS_WITH_AS(slice(x, 0, 2, 1), doctest::Contains("slice: range [2, 1)"), Error);
  CHECK_THROWS_WITH_AS(slice(x, 2, 0, 1), doctest::Contains("slice: dim 2 is out of range"), Error);
}

TEST_CASE("concat: values by hand along dim 0 and dim 1") {
  const Tensor a = Tensor::from({1, 2, 3, 4}, {2, 2});
  const Tensor row = Tensor::from({5, 6}, {1, 2});
  const Tensor column = Tensor::from({7, 8}, {2, 1});
  const Tensor rows = concat({a, row}, 0);
  CHECK(rows.shape() == Shape{3, 2});
  check_values(rows, {1, 2, 3, 4, 5, 6});
  const Tensor columns = concat({a, column}, -1);  // [[1, 2, 7], [3, 4, 8]]
  CHECK(columns.shape() == Shape{2, 3});
  check_values(columns, {1, 2, 7, 3, 4, 8});
  check_values(concat({a}, 1), {1, 2, 3, 4});
}

TEST_CASE("concat: backward splits the gradient among the inputs") {
  Tensor a = Tensor::zeros({2, 2}, true);
  Tensor column = Tensor::zeros({2, 1}, true);
  const Tensor constant = Tensor::zeros({2, 1});  // takes its share of dy and keeps it
  concat({a, constant, column}, 1).backward(Tensor::from({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4}));
  check_values(a.grad(), {1, 2, 5, 6});
  check_values(column.grad(), {4, 8});
  CHECK_FALSE(constant.grad().defined());
}

TEST_CASE("concat: mismatched shapes name the tensor and both shapes") {
  const Tensor a = two_by_three();
  CHECK_THROWS_WITH_AS(concat({a, a, Tensor::zeros({3, 2})}, 0),
                       doctest::Contains("concat: tensor 2 has shape (3,2) but tensor 0 has shape "
                                         "(2,3); they must match in every dim except dim 0"),
                       Error);
  CHECK_THROWS_WITH_AS(concat({a, Tensor::zeros({3})}, 0), doctest::Contains("tensor 1 has shape (3)"),
                       Error);
  CHECK_THROWS_WITH_AS(concat({}, 0), doctest::Contains("concat: needs at least one tensor"), Error);
  CHECK_THROWS_WITH_AS(concat({a, Tensor()}, 0), doctest::Contains("concat: tensor 1 is undefined"),
                       Error);
  CHECK_THROWS_WITH_AS(concat({a}, 2), doctest::Contains("concat: dim 2 is out of range"), Error);
}

TEST_CASE("split: pieces of split_size, the last one shorter") {
  const std::vector<Tensor> pieces = split(Tensor::arange(5), 2, 0);
  REQUIRE(pieces.size() == 3);
  check_values(pieces[0], {0, 1});
  check_values(pieces[1], {2, 3});
  check_values(pieces[2], {4});
  const std::vector<Tensor> columns = split(Tensor::arange(10).reshape({2, 5}), 3, -1);
  REQUIRE(columns.size() == 2);
  check_values(columns[0], {0, 1, 2, 5, 6, 7});
  check_values(columns[1], {3, 4, 8, 9});
  CHECK(split(Tensor::arange(5), 8, 0).size() == 1);
  CHECK(split(Tensor::zeros({0, 2}), 2, 0).size() == 1);  // one empty piece, as in PyTorch
  CHECK_THROWS_WITH_AS(split(Tensor::arange(5), 0, 0),
                       doctest::Contains("split: split_size must be positive"), Error);
  CHECK_THROWS_WITH_AS(split(Tensor::arange(5), 1, 1),
                       doctest::Contains("split: dim 1 is out of range"), Error);
}

TEST_CASE("views: reshape, squeeze, unsqueeze, detach and contiguous slices share storage") {
  const Tensor x = two_by_three();
  // Each reads x's values in place: same memory, at the slice's offset.
  CHECK(reshape(x, {6}).data() == x.data());
  CHECK(unsqueeze(x, 0).data() == x.data());
  CHECK(squeeze(unsqueeze(x, 0), 0).data() == x.data());
  CHECK(x.detach().data() == x.data());
  CHECK(slice(x, 0, 1, 2).data() == x.data() + 3);  // row 1: a block along dim 0
  CHECK(slice(unsqueeze(x, 0), 1, 1, 2).data() == x.data() + 3);  // outer size 1: a block
  CHECK(slice(reshape(x, {6}), 0, 2, 5).data() == x.data() + 2);  // a view of a view
  // A write through a view is seen by every tensor on the storage, version included.
  Tensor row = slice(x, 0, 1, 2);
  row.mutable_data()[0] = 40;
  CHECK(x.at({1, 0}) == 40);
  CHECK(x.version() == 1);
  CHECK(reshape(x, {6}).version() == 1);
}

TEST_CASE("shape ops that reorder or pick strided pieces copy: the input stays alone") {
  const Tensor x = two_by_three();
  for (Tensor y : {transpose(x, 0, 1), expand(x, {1, 2, 3}), slice(x, 1, 0, 2), concat({x}, 0),
                   split(x, 2, 1)[0]}) {
    CHECK(y.data() != x.data());
    y.mutable_data()[0] = 100;
    CHECK(x.at({0, 0}) == 1);
    CHECK(x.version() == 0);
  }
}

TEST_CASE("views of a tensor that requires grad record a backward") {
  Tensor x = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  const Tensor row = slice(x, 0, 1, 2);  // (1, 3): shares x's storage
  CHECK(row.op_name() == std::string("slice"));
  const Tensor flat = reshape(row, {3});
  CHECK(flat.op_name() == std::string("reshape"));
  (flat * Tensor::from({1, 10, 100}, {3})).sum().backward();
  check_values(x.grad(), {0, 0, 0, 1, 10, 100});
  const Tensor constant = x.detach();
  CHECK(constant.is_leaf());
  CHECK_FALSE(constant.requires_grad());
}

// --- Gradient checks ---

GRADCHECK_CASE("reshape, unsqueeze, squeeze: backward matches finite differences") {
  const Tensor matrix = random_input({2, 3}, 31);
  const Tensor cube = random_input({2, 3, 4}, 32);
  check_gradients([](const Inputs& in) { return reshape(in[0], {3, -1}); }, {matrix});
  check_gradients([](const Inputs& in) { return reshape(in[0], {4, -1, 2}); }, {cube});
  check_gradients([](const Inputs& in) { return unsqueeze(in[0], 1); }, {matrix});
  check_gradients([](const Inputs& in) { return squeeze(unsqueeze(in[0], -1), 3); }, {cube});
  check_gradients([](const Inputs& in) { return squeeze(in[0], 1); }, {random_input({3, 1, 2}, 33)});
  SUBCASE("an input used twice, with broadcasting") {
    // (1,2,3) * (2,1,3) -> (2,2,3)
    check_gradients([](const Inputs& in) { return unsqueeze(in[0], 0) * unsqueeze(in[0], 1); },
                    {matrix});
    check_gradients([](const Inputs& in) { return reshape(in[0], {3, 2}) * in[0].t(); }, {matrix});
  }
}

GRADCHECK_CASE("transpose and permute: backward matches finite differences") {
  const Tensor matrix = random_input({2, 3}, 34);
  const Tensor heads = random_input({2, 3, 2, 4}, 35);  // (B,T,H,Dh)
  check_gradients([](const Inputs& in) { return transpose(in[0], 0, 1); }, {matrix});
  check_gradients([](const Inputs& in) { return transpose(in[0], -1, -2); }, {heads});
  check_gradients([](const Inputs& in) { return permute(in[0], {0, 2, 1, 3}); }, {heads});
  check_gradients([](const Inputs& in) { return permute(in[0], {3, 1, 0, 2}); }, {heads});
  SUBCASE("an input used twice") {
    const Tensor square = random_input({3, 3}, 36);
    check_gradients([](const Inputs& in) { return in[0].t() * in[0]; }, {square});
    check_gradients(
        [](const Inputs& in) { return permute(in[0], {0, 2, 1, 3}) * transpose(in[0], 1, 2); },
        {heads});
  }
}

GRADCHECK_CASE("expand: backward matches finite differences") {
  const Tensor row = random_input({3}, 37);
  const Tensor middle = random_input({2, 1, 3}, 38);
  check_gradients([](const Inputs& in) { return expand(in[0], {2, 3}); }, {row});
  check_gradients([](const Inputs& in) { return expand(in[0], {2, 4, 3}); }, {middle});
  check_gradients([](const Inputs& in) { return expand(in[0], {3, 2, 1, 3}); }, {middle});
  SUBCASE("an input used twice, once expanded and once broadcast") {
    check_gradients([](const Inputs& in) { return expand(in[0], {2, 3}) * in[0]; }, {row});
  }
}

GRADCHECK_CASE("slice: backward matches finite differences") {
  const Tensor matrix = random_input({3, 4}, 39);
  const Tensor cube = random_input({2, 3, 4}, 40);
  check_gradients([](const Inputs& in) { return slice(in[0], 1, 1, 3); }, {matrix});
  check_gradients([](const Inputs& in) { return slice(in[0], 0, 1, 2); }, {cube});
  check_gradients([](const Inputs& in) { return slice(in[0], -2, 0, 2); }, {cube});
  SUBCASE("an input used twice: two overlapping slices") {
    check_gradients([](const Inputs& in) { return slice(in[0], 1, 0, 3) * slice(in[0], 1, 1, 4); },
                    {matrix});
  }
}

GRADCHECK_CASE("concat: backward matches finite differences") {
  const Tensor a = random_input({2, 3}, 41);
  const Tensor column = random_input({2, 1}, 42);
  const Tensor cube = random_input({2, 2, 3}, 43);
  const Tensor other_cube = random_input({2, 1, 3}, 44);
  check_gradients([](const Inputs& in) { return concat({in[0], in[1]}, 1); }, {a, column});
  check_gradients([](const Inputs& in) { return concat({in[1], in[0], in[1]}, 1); },
                  {cube, other_cube});
  SUBCASE("an input used twice, and a constant among the pieces") {
    check_gradients([](const Inputs& in) { return concat({in[0], in[0]}, 0); }, {a});
    check_gradients(
        [](const Inputs& in) { return concat({in[0] * in[0], Tensor::ones({2, 3}), in[0]}, -1); },
        {a});
  }
}

GRADCHECK_CASE("split: backward matches finite differences") {
  const Tensor tall = random_input({5, 2}, 45);
  const Tensor wide = random_input({2, 5}, 46);
  check_gradients(
      [](const Inputs& in) {
        const std::vector<Tensor> p = split(in[0], 2, 0);  // (2,2), (2,2), (1,2)
        return concat({p[0] * p[1], p[2] * 3, p[1]}, 0);   // p[1] is used twice
      },
      {tall});
  check_gradients(
      [](const Inputs& in) {
        const std::vector<Tensor> p = split(in[0], 3, -1);  // (2,3), (2,2)
        return concat({p[1], p[0]}, 1);
      },
      {wide});
}
